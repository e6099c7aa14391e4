"""Attachment safety: which backbones a :class:`~mmadapt.MultimodalAdapterModel` may take, and the mark it leaves.

Why: a model edits its backbones while attached (frozen grad flags, tuned positional tables in their slots, hooks).
A second model wrapping the same backbone would freeze the first one's tuned tables as "originals", stack a second
set of hooks and change the first model's logits; two streams sharing submodules (``copy.copy(backbone)``) would
swap each other's tables. Both are refused before anything is touched.

The mark is one small plain object set on every module of an attached backbone (in the module's ``__dict__``, so
``state_dict``, ``.to()`` and ``modules()`` never see it). ``copy.deepcopy`` of a model copies the mark through the
same memo as the model's own record of it, so a copied model owns its copied backbones; a copy made of one attached
backbone alone still carries the hooks, and keeps the mark that says so. ``detach()`` removes only its own mark.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from .errors import UnsupportedBackboneError

__all__ = ["AttachMark", "check_attachable", "mark", "unmark"]

_ATTR = "_mmadapt_attachment"


class AttachMark:
    """Set on every module of a backbone while it is attached; ``holder`` says to what, for error messages."""

    def __init__(self, holder: str) -> None:
        self.holder = holder  # e.g. "stream 'video' of a MultimodalAdapterModel"

    def __repr__(self) -> str:
        return f"AttachMark({self.holder!r})"


def _mark_of(module: nn.Module) -> AttachMark | None:
    # vars(), never getattr: PEFT wrappers forward unknown attributes to the model they wrap
    return vars(module).get(_ATTR)


def mark(backbone: nn.Module, attach_mark: AttachMark) -> None:
    for module in backbone.modules():
        vars(module)[_ATTR] = attach_mark


def unmark(backbone: nn.Module, attach_mark: AttachMark) -> None:
    """Remove ``attach_mark`` (and no other model's) from every module of ``backbone``."""
    for module in backbone.modules():
        if _mark_of(module) is attach_mark:
            del vars(module)[_ATTR]


def check_attachable(streams: Mapping[str, nn.Module]) -> None:
    """Refuse, before anything is changed: a backbone attached elsewhere, streams sharing modules or parameters,
    and backbones on more than one device (the adapters, fusion and head live on one device)."""
    for s, backbone in streams.items():
        for name, module in backbone.named_modules():
            held = _mark_of(module)
            if held is not None:
                where = f"its module {name!r}" if name else "it"
                raise UnsupportedBackboneError(
                    f"stream {s!r}: the backbone is already attached ({where} is {held.holder}, or a copy of one "
                    "taken while attached); detach() that first, or wrap a copy.deepcopy of the backbone made before "
                    "it was attached"
                )
    owner: dict[int, tuple[str, str]] = {}
    for s, backbone in streams.items():
        named = [*backbone.named_modules(), *backbone.named_parameters()]
        for name, obj in named:
            first = owner.setdefault(id(obj), (s, name))
            if first[0] != s:
                raise UnsupportedBackboneError(
                    f"streams {first[0]!r} and {s!r} share {type(obj).__name__} {first[1] or '(the root)'!r}; "
                    "give each stream its own backbone (copy.deepcopy, not copy.copy)"
                )
    devices: dict[str, set[torch.device]] = {
        s: {t.device for t in (*b.parameters(), *b.buffers())} for s, b in streams.items()
    }
    split = {s: d for s, d in devices.items() if len(d) > 1}
    if split or len(set().union(*devices.values())) > 1:
        placed = ", ".join(f"{s} on {'/'.join(sorted(map(str, d)))}" for s, d in devices.items())
        raise UnsupportedBackboneError(
            f"the backbones must all be on one device (the fusion and head run on it): {placed}; "
            "move them with .to(device) before wrapping"
        )
