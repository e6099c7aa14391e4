"""Loss registry: `TrainConfig.loss` names an entry here (official recipe: plain cross-entropy).

A loss factory returns a callable `(logits (B, C), targets (B,)) -> per-sample losses (B,)`; the loop
takes the mean itself so gradient accumulation and evaluation can weigh samples exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["LossFn", "get_loss", "list_losses", "register_loss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_LOSSES: dict[str, Callable[[], LossFn]] = {}


def register_loss(name: str, factory: Callable[[], LossFn]) -> None:
    """Add a loss under a new name; re-registering a name is an error (it would hide the first)."""
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"loss name must be a non-empty identifier, got {name!r}")
    if name in _LOSSES:
        raise ValueError(f"loss {name!r} is already registered")
    _LOSSES[name] = factory


def get_loss(name: str) -> LossFn:
    try:
        factory = _LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; registered: {list_losses()}") from None
    return factory()


def list_losses() -> list[str]:
    return sorted(_LOSSES)


def _cross_entropy() -> LossFn:
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), targets, reduction="none")

    return loss


register_loss("cross_entropy", _cross_entropy)
