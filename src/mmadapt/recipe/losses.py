"""Loss registry: `TrainConfig.loss` names an entry here (official recipe: plain cross-entropy).

A loss factory returns a callable `(logits (B, C), targets (B,)) -> per-sample losses (B,)`; the loop
takes the mean itself so gradient accumulation and evaluation can weigh samples exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..registry import Registry

__all__ = ["LOSSES", "LossFactory", "LossFn", "get_loss", "list_losses", "register_loss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LossFactory = Callable[[], LossFn]


def _validate(name: str, factory: LossFactory) -> None:
    if not callable(factory):
        raise TypeError(f"loss {name!r}: the factory must be callable, got {factory!r}")


LOSSES: Registry[LossFactory] = Registry("loss", validate=_validate)
"""Loss name -> factory of the per-sample loss function."""


def register_loss(name: str, factory: LossFactory, *, override: bool = False) -> LossFactory:
    """Add a loss under ``name``; a taken name needs ``override=True`` (silently replacing would hide the first)."""
    return LOSSES.register(name, factory, override=override)


def get_loss(name: str) -> LossFn:
    """A fresh per-sample loss function; an unknown name raises :class:`~mmadapt.RegistryError` naming close ones."""
    return LOSSES.get(name)()


def list_losses(pattern: str = "*") -> list[str]:
    """Registered loss names matching the shell-style ``pattern``, sorted."""
    return LOSSES.list(pattern)


def _cross_entropy() -> LossFn:
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), targets, reduction="none")

    return loss


register_loss("cross_entropy", _cross_entropy)
