"""Shared test utilities: building wrapped pairs, randomising adapters, snapshotting backbones."""

from __future__ import annotations

import copy

import torch
from torch import nn

import mmadapt

from .backbones import PAIRS, build

SMALL_HEAD = {"dim": 24, "depth": 1, "heads": 2, "dim_head": 12, "mlp_dim": 48, "max_frames": 4}


def make_pair(name: str, seed: int = 0):
    audio_f, video_f = PAIRS[name]
    audio, a_shape = build(audio_f, 1, seed)
    video, v_shape = build(video_f, 3, seed + 1)
    return audio, video, a_shape, v_shape


def make_inputs(a_shape, v_shape, n: int = 2, t: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    video = torch.randn(n, t, *v_shape, generator=g)
    audio = torch.randn(n, *a_shape, generator=g)
    return video, audio


def wrap(audio: nn.Module, video: nn.Module, **overrides) -> mmadapt.MultimodalAdapterModel:
    overrides.setdefault("head", SMALL_HEAD)
    overrides.setdefault("num_classes", 5)
    return mmadapt.wrap_encoders(audio, video, preset="mma-dfer", **overrides).eval()


@torch.no_grad()
def randomise_gates(model: mmadapt.MultimodalAdapterModel, seed: int = 0, scale: float = 0.5) -> None:
    g = torch.Generator().manual_seed(seed)
    for f in model.fusion:
        for gate in f.gate.values():  # streams in the model's order
            gate.copy_((torch.rand(1, generator=g) - 0.5) * 2 * scale)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def hook_count(module: nn.Module) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in module.modules()
    )


def clone(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module)
