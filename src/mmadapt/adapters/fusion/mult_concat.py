"""One transformer layer over all streams' tokens (kind ``mult-concat``, MMA-DFER Table 3 "MULT-concat"): its
global average pooled output is added back to every token of every stream.

Legend: n clips, T_s frames of stream s (1 for a per-clip stream), N_s tokens, D_s width, d layer width (``dim``),
L = Σ_s T_s·N_s tokens per clip.

Per fused layer:
    u    = concat over s of P_s x_s viewed per clip            (n, L, d)    one input projection per stream
    u    = u + MHSA(LN(u));  u = u + MLP(LN(u))                (n, L, d)    one pre-norm layer, GELU MLP
    g    = mean of u over its L tokens                         (n, 1, d)
    x_s  = x_s + tanh(gate_s) * W_s g                          broadcast to each of s's frames and tokens
Per-frame streams enter with all T_s frames of their clip, so audio, every video frame and any further stream
attend to one another within the clip; every stream receives the same clip summary g (through its own W_s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ..._dtype import to_weight_dtype
from ...errors import ConfigError
from ...streams import StreamInfo
from ..kinds import register_adapter_kind
from ._attention import attend, check_heads
from ._tokens import clip_tokens, to_every_token
from .base import FusionKindConfig
from .gate import gated_residual

__all__ = ["MultConcatFusion", "MultConcatFusionConfig"]


@dataclass
class MultConcatFusionConfig(FusionKindConfig):
    """A single transformer layer over the concatenated streams, its pooled output gated back into each."""

    dim: int = 128
    """Width d of the joint layer (as ``mult``: MMA-DFER §4.5 matches the bottleneck's 128)."""
    heads: int = 2
    """Self-attention heads; ``dim`` must be a multiple."""
    mlp_ratio: float = 4.0
    """Hidden width of the layer's MLP as a multiple of ``dim`` (the ViT convention)."""
    gate_init: float = 0.0
    """Initial value of the per-stream gates alpha; the residual is ``tanh(alpha) * W_s g``, so 0 = identity."""
    norm_eps: float = 1e-5
    """Epsilon of the layer's LayerNorms."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_heads("MultConcatFusionConfig", self.dim, self.heads)
        if self.mlp_dim < 1:
            raise ConfigError(f"MultConcatFusionConfig.mlp_ratio must give an MLP width >= 1, got {self.mlp_ratio}")

    @property
    def mlp_dim(self) -> int:
        return int(self.dim * self.mlp_ratio)


class _Layer(nn.Module):
    """Pre-norm transformer layer: x + MHSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.norm1(u)).chunk(3, dim=-1)  # each (n, L, d)
        u = u + self.proj(attend(q, k, v, self.heads))
        return u + self.mlp(self.norm2(u))


class MultConcatFusion(nn.Module):
    """One joint layer over two or more streams; widths may differ between streams."""

    def __init__(self, config: MultConcatFusionConfig, streams: Mapping[str, StreamInfo]) -> None:
        super().__init__()
        if len(streams) < 2:
            raise ConfigError(f"mult-concat fuses two or more streams, got {list(streams)}")
        d = config.dim
        self.proj = nn.ModuleDict({s: nn.Linear(info.width, d) for s, info in streams.items()})
        self.layer = _Layer(d, config.heads, config.mlp_dim, config.norm_eps)
        self.out = nn.ModuleDict({s: nn.Linear(d, info.width) for s, info in streams.items()})
        self.gate = nn.ParameterDict({s: nn.Parameter(torch.full((1,), float(config.gate_init))) for s in streams})

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        """x[s] (n·T_s, N_s, D_s) clip-major -> the same shapes."""
        names = list(self.gate)
        w = self.gate[names[0]].dtype
        u = torch.cat([self.proj[s](clip_tokens(to_weight_dtype(x[s], w), frames[s])) for s in names], dim=1)
        pooled = self.layer(u).mean(dim=1, keepdim=True)  # (n, L, d) -> (n, 1, d)
        return {
            s: gated_residual(x[s], to_every_token(self.out[s](pooled), x[s], frames[s]), self.gate[s]) for s in names
        }


register_adapter_kind("fusion", "mult-concat", MultConcatFusionConfig, MultConcatFusion)
