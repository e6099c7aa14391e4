"""Prompt injector: learnable tokens appended after the patch tokens, updated progressively with depth.

Legend: B batch, N tokens (prefix + patches [+ P prompts]), D width, P prompt tokens.

The injector acts through forward hooks on the backbone's public modules: one on the module whose output feeds
block 0 (append prompts), optionally one per scheduled block (progressive update) and one on the final-norm module
(strip prompts so pooling and ``forward_features`` never see them). ``detach()`` removes every hook.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..._freeze import grad_flags, restore_grad_flags
from ...anatomy import Anatomy, map_tokens, resolve_anatomy
from .config import PromptConfig


class PromptInjector(nn.Module):
    """Owns the prompt tokens of one backbone: ``prompts`` (P, D), ``prompt_pos`` (P, D) and one (n_k, D) tensor
    per progressive update."""

    def __init__(self, config: PromptConfig, width: int, depth: int) -> None:
        super().__init__()
        self.config = config
        self.width = width
        self.schedule = config.resolve_schedule(depth)  # {after_block: n_tokens}
        std = config.init_std if config.init_std is not None else width**-0.5
        p = config.num_prompts
        self.prompts = nn.Parameter(torch.randn(p, width) * std)
        self.prompt_pos = nn.Parameter(torch.randn(p, width) * config.pos_init_std)
        self.progressive = nn.ParameterList([nn.Parameter(torch.randn(n, width) * std) for n in self.schedule.values()])
        # consecutive slices of the prompt tokens, one per update, counted from the first prompt token
        self._slices: dict[int, tuple[int, int, int]] = {}
        start = 0
        for k, (block, n) in enumerate(self.schedule.items()):
            self._slices[block] = (k, start, start + n)
            start += n
        self.enabled = True
        self._handles: list[RemovableHandle] = []

    @property
    def num_prompts(self) -> int:
        return self.config.num_prompts

    # ---- the two operations -----------------------------------------------------------------------------
    def append(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N + P, D): prompt tokens (with their positions) after the patch tokens."""
        tokens = (self.prompts + self.prompt_pos).to(x.dtype)  # (P, D), the same for every sample
        return torch.cat([x, tokens.unsqueeze(0).expand(x.shape[0], -1, -1)], dim=1)

    def update(self, after_block: int, x: torch.Tensor) -> torch.Tensor:
        """Add the progressive tokens scheduled after ``after_block`` to their slice of the prompts (out of place)."""
        if after_block not in self._slices:
            return x
        k, lo, hi = self._slices[after_block]
        first = x.shape[1] - self.num_prompts  # index of prompt token 0
        s, e = first + lo, first + hi
        added = x[:, s:e] + self.progressive[k].to(x.dtype)
        return torch.cat([x[:, :s], added, x[:, e:]], dim=1)

    def strip(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N + P, D) -> (B, N, D)."""
        return x[:, : x.shape[1] - self.num_prompts]

    # ---- hooks ------------------------------------------------------------------------------------------
    # Bound methods (or partials of them), never closures: ``copy.deepcopy`` duplicates a bound method together
    # with its injector, so a copied backbone runs on the copy's prompts and ``enabled`` flag.
    def attach(self, anatomy: Anatomy, *, hook_blocks: bool, strip_output: bool) -> None:
        """Hook the injector into ``anatomy``'s backbone.

        ``hook_blocks`` applies progressive updates as block hooks (single-ViT mode); the lockstep runner calls
        ``update`` itself after fusion instead. ``strip_output`` removes the prompts at the final norm.
        """
        if self._handles:
            raise RuntimeError("PromptInjector is already attached; detach() it first")
        self._handles.append(anatomy.embed_output.register_forward_hook(self._append_hook))
        if hook_blocks:
            for b in self.schedule:
                self._handles.append(anatomy.blocks[b].register_forward_hook(partial(self._update_hook, b)))
        if strip_output and anatomy.token_output is not None:
            self._handles.append(anatomy.token_output.register_forward_hook(self._strip_hook))
        self._handles.extend(anatomy.prompt_fixups(self.num_prompts, self.is_enabled))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def is_enabled(self) -> bool:
        return self.enabled

    def _append_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, self.append) if self.enabled else output

    def _update_hook(self, block: int, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, partial(self.update, block)) if self.enabled else output

    def _strip_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, self.strip) if self.enabled else output


class PromptedViT:
    """Handle returned by :func:`attach_prompts`: the ViT's own ``forward()`` now uses the prompts."""

    def __init__(self, vit: nn.Module, injector: PromptInjector, anatomy: Anatomy) -> None:
        self.vit = vit
        self.injector = injector
        self.anatomy = anatomy
        self._grad_flags = grad_flags(vit)

    def parameters(self):
        return self.injector.parameters()

    def detach(self) -> nn.Module:
        """Remove every hook and restore the ViT's gradient flags; returns the untouched ViT."""
        self.injector.detach()
        restore_grad_flags(self.vit, self._grad_flags)
        return self.vit


def attach_prompts(vit: nn.Module, config: PromptConfig | None = None, *, freeze: bool = True) -> PromptedViT:
    """VPT-style prompts on a single ViT: after this, ``vit(x)`` runs with the prompts and pools without them.

    The prompt tensors live in ``handle.injector`` (give them to the optimiser); ``handle.detach()`` restores
    the ViT exactly.
    """
    config = config or PromptConfig()
    anatomy = resolve_anatomy(vit)
    p0 = next(vit.parameters())
    injector = PromptInjector(config, anatomy.width, anatomy.depth).to(device=p0.device, dtype=p0.dtype)
    handle = PromptedViT(vit, injector, anatomy)
    if freeze:
        for p in vit.parameters():
            p.requires_grad_(False)
    injector.attach(anatomy, hook_blocks=True, strip_output=True)
    return handle
