"""Prompts on a single ViT (VPT-style): ``attach_prompts(vit)`` and the handle that detaches them again."""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn

from ..._attachment import AttachMark, check_attachable, mark, unmark
from ..._freeze import grad_flags, restore_grad_flags
from ...anatomy import Anatomy, resolve_anatomy
from ...streams import StreamInfo
from .._config import AdapterConfig
from ..kinds import build_adapter
from ._hooks import PromptHooks
from .progressive import PromptConfig

__all__ = ["PromptedViT", "attach_prompts"]


class PromptedViT:
    """Handle returned by :func:`attach_prompts`: the ViT's own ``forward()`` now uses the prompts."""

    def __init__(self, vit: nn.Module, injector: PromptHooks, anatomy: Anatomy) -> None:
        self.vit = vit
        self.injector = injector
        self.anatomy = anatomy
        self._grad_flags = grad_flags(vit)
        self._mark = AttachMark("prompted by attach_prompts")

    def parameters(self) -> Iterator[nn.Parameter]:
        return self.injector.parameters()

    def detach(self) -> nn.Module:
        """Remove every hook and restore the ViT's gradient flags; returns the untouched ViT."""
        self.injector.detach()
        restore_grad_flags(self.vit, self._grad_flags)
        unmark(self.vit, self._mark)
        return self.vit


def attach_prompts(vit: nn.Module, config: AdapterConfig | None = None, *, freeze: bool = True) -> PromptedViT:
    """VPT-style prompts on a single ViT: after this, ``vit(x)`` runs with the prompts and pools without them.

    ``config`` is any prompts kind's config (default ``PromptConfig()``; ``VPTDeepConfig()`` for VPT-deep).

    The prompt tensors live in ``handle.injector`` (give them to the optimiser); ``handle.detach()`` restores
    the ViT exactly. A ViT attached elsewhere (to a model, or prompted already) is refused: hooks would stack.
    """
    check_attachable({"vit": vit})
    config = config or PromptConfig()
    anatomy = resolve_anatomy(vit)
    p0 = next(vit.parameters())
    stream = StreamInfo("vit", False, anatomy.width, anatomy.depth, anatomy.num_tokens(), anatomy.num_prefix_tokens)
    injector = build_adapter(config, "prompts", stream).to(device=p0.device, dtype=p0.dtype)
    handle = PromptedViT(vit, injector, anatomy)
    if freeze:
        for p in vit.parameters():
            p.requires_grad_(False)
    injector.attach(anatomy, hook_blocks=True, strip_output=True)
    mark(vit, handle._mark)
    return handle
