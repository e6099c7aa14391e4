"""Shared test utilities: building wrapped pairs, randomising adapters, snapshotting backbones."""

from __future__ import annotations

import copy

import torch
from torch import nn

import mmadapt

from .backbones import PAIRS, build, hf_ast, hf_vit, timm_eva, timm_vit

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


THIRD_FAMILIES = {"hf-vit": hf_vit, "timm-eva": timm_eva}
"""Families of the third stream; the first two are AST (audio) and a timm ViT (video)."""


def make_three(flow_family: str = "hf-vit", seed: int = 0):
    audio, a_shape = build(hf_ast, 1, seed)
    video, v_shape = build(timm_vit, 3, seed + 1)  # depth 4: fused proportionally against the depth-2 encoders
    flow, f_shape = build(THIRD_FAMILIES[flow_family], 3, seed + 2)
    return {"audio": audio, "video": video, "flow": flow}, {"audio": a_shape, "video": v_shape, "flow": f_shape}


def make_three_inputs(shapes, n: int = 2, t: int = 3, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "audio": torch.randn(n, *shapes["audio"], generator=g),
        "video": torch.randn(n, t, *shapes["video"], generator=g),
        "flow": torch.randn(n, t, *shapes["flow"], generator=g),
    }


def wrap_three(backbones, **overrides) -> mmadapt.MultimodalAdapterModel:
    overrides.setdefault("head", SMALL_HEAD)
    overrides.setdefault("num_classes", 5)
    return mmadapt.wrap_encoders(backbones, preset="mma-dfer", frames={"video", "flow"}, **overrides).eval()


@torch.no_grad()
def randomise_gates(model: mmadapt.MultimodalAdapterModel, seed: int = 0, scale: float = 0.5) -> None:
    g = torch.Generator().manual_seed(seed)
    for f in model.fusion:
        for gate in f.gate.values():  # streams in the model's order
            gate.copy_((torch.rand(1, generator=g) - 0.5) * 2 * scale)


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def hook_count(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in module.modules())


def clone(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module)
