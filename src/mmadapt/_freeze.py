"""Freezing a backbone and giving back its ``requires_grad`` flags on detach.

Flags are keyed by parameter name, not by ``id(p)``: names survive ``copy.deepcopy``, so a copied model's
``detach()`` restores its own backbones' flags too.
"""

from __future__ import annotations

from torch import nn


def grad_flags(module: nn.Module) -> dict[str, bool]:
    """``{parameter name: requires_grad}`` for every parameter of ``module``."""
    return {name: p.requires_grad for name, p in module.named_parameters()}


def restore_grad_flags(module: nn.Module, flags: dict[str, bool]) -> None:
    """Set each named parameter's ``requires_grad`` back to ``flags`` (parameters added since keep theirs)."""
    for name, p in module.named_parameters():
        if name in flags:
            p.requires_grad_(flags[name])
