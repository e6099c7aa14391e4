"""Building converted models: backbones created without memory, then handed their weights by assignment.

A ViT-B is built on the ``meta`` device (no random init of 86M values), its weights are checked key by key and
shape by shape, and only then assigned (``load_state_dict(assign=True)``), so a mismatch never leaves a
half-loaded module behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ....backbones.registry import create_backbone
from ....errors import CheckpointError

__all__ = ["assign_backbone", "build_meta_backbone", "check_state_fits", "wrap_quietly"]


def build_meta_backbone(builder: str, kwargs: Mapping[str, Any]) -> nn.Module:
    """The registered backbone ``builder(**kwargs)`` without weights (on the meta device)."""
    with torch.device("meta"):
        return create_backbone(builder, **dict(kwargs)).model


def check_state_fits(module: nn.Module, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Raise ``CheckpointError`` naming every missing, unexpected or mis-shaped key."""
    want = module.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    shapes = [
        f"{k}: {tuple(state[k].shape)} vs expected {tuple(want[k].shape)}"
        for k in want
        if k in state and tuple(state[k].shape) != tuple(want[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''}")
    if shapes:
        problems.append("mis-shaped " + "; ".join(shapes[:10]))
    if problems:
        raise CheckpointError(f"{where} does not fit {type(module).__name__}: " + " | ".join(problems))


def assign_backbone(module: nn.Module, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Give a meta-built ``module`` the tensors of ``state`` (checked first; tensors are taken, not copied)."""
    check_state_fits(module, state, where)
    module.load_state_dict(dict(state), strict=True, assign=True)
    left = [n for n, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
    if left:
        raise CheckpointError(f"internal: {where}: tensors without values after loading: {left[:5]}")


def wrap_quietly(audio: nn.Module, video: nn.Module, overrides: Mapping[str, Any]):
    """``wrap_encoders`` with the ``mma-dfer`` preset, leaving the caller's random state untouched (the adapters'
    random init is overwritten right after)."""
    from ....model import wrap_encoders

    with torch.random.fork_rng(devices=[]):
        return wrap_encoders(audio, video, preset="mma-dfer", **dict(overrides))
