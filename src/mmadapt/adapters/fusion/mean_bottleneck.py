"""The MMA-DFER fusion bottleneck (kind ``mean-bottleneck``): each stream receives the other streams' token means
in a shared low-dimensional space.

Legend: n clips, T_s frames of stream s (1 for a per-clip stream), N_s tokens, D_s width, d latent width.

Per fused layer (paper §3.2; official semantics §2 b–d), for every participating stream s:
    lo_s   = LN(down_s(x_s))                          (n·T_s, N_s, d)
    mean_s = mean over frames, then over tokens       (n, 1, d)   (every token: prefix, patches, prompts)
    in_s   = lo_s + mean_{o != s}(mean_o)             broadcast to each of s's frames
    x_s    = x_s + tanh(gate_s) * GELU(up_s(in_s))
With two streams ``mean_{o != s}`` is the other stream's mean: exactly the official two-encoder computation. The
block works in its own weights' dtype (fp32 master weights on a bf16 stream: see :mod:`mmadapt._dtype`) and writes
back in the stream's.
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
from .base import FusionKindConfig
from .gate import gated_residual

__all__ = ["MeanBottleneck", "MeanBottleneckConfig"]


@dataclass
class MeanBottleneckConfig(FusionKindConfig):
    """One bottleneck per fused layer, exchanging low-dimensional token means."""

    latent_dim: int = 128
    """Width d of the shared low-dimensional space (paper Table 6)."""
    gate_init: float = 0.0
    """Initial value of the per-stream gates alpha; the residual is ``tanh(alpha) * up(...)``, so 0 = identity."""
    norm_eps: float = 1e-5
    """LayerNorm epsilon of the down-projections."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.latent_dim < 1:
            raise ConfigError(f"MeanBottleneckConfig.latent_dim must be >= 1, got {self.latent_dim}")


class _Down(nn.Sequential):
    """Linear to the latent width, then LayerNorm."""

    def __init__(self, width: int, latent: int, eps: float) -> None:
        super().__init__(nn.Linear(width, latent), nn.LayerNorm(latent, eps=eps))


class _Up(nn.Sequential):
    """Linear back to the encoder width, then exact (erf) GELU."""

    def __init__(self, latent: int, width: int) -> None:
        super().__init__(nn.Linear(latent, width), nn.GELU())


class MeanBottleneck(nn.Module):
    """One exchange between two or more streams; widths may differ between streams."""

    def __init__(self, config: MeanBottleneckConfig, streams: Mapping[str, StreamInfo]) -> None:
        super().__init__()
        if len(streams) < 2:
            raise ConfigError(f"mean-bottleneck fuses two or more streams, got {list(streams)}")
        d = config.latent_dim
        # construction order (all downs, then all ups) fixes the random initialisation of every existing recipe
        self.down = nn.ModuleDict({s: _Down(info.width, d, config.norm_eps) for s, info in streams.items()})
        self.up = nn.ModuleDict({s: _Up(d, info.width) for s, info in streams.items()})
        self.gate = nn.ParameterDict({s: nn.Parameter(torch.full((1,), float(config.gate_init))) for s in streams})

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        """x[s] (n·T_s, N_s, D_s) clip-major -> the same shapes."""
        names = list(self.down)
        w = self.gate[names[0]].dtype
        lo = {s: self.down[s](to_weight_dtype(x[s], w)) for s in names}  # (n·T_s, N_s, d)
        means = {s: self._clip_mean(lo[s], frames[s]) for s in names}  # (n, 1, d)
        out = {}
        for s in names:
            others = [means[o] for o in names if o != s]
            received = others[0] if len(others) == 1 else torch.stack(others).mean(dim=0)  # (n, 1, d)
            out[s] = gated_residual(x[s], self.up[s](self._broadcast(lo[s], received, frames[s])), self.gate[s])
        return out

    @staticmethod
    def _clip_mean(lo: torch.Tensor, t: int) -> torch.Tensor:
        """(n·T, N, d) -> (n, 1, d): frames first, then tokens."""
        if t > 1:
            lo = lo.view(lo.shape[0] // t, t, *lo.shape[1:]).mean(dim=1)  # (n, N, d)
        return lo.mean(dim=1, keepdim=True)

    @staticmethod
    def _broadcast(lo: torch.Tensor, received: torch.Tensor, t: int) -> torch.Tensor:
        """lo (n·T, N, d) + the clip's received mean (n, 1, d) on each of its T frames (no repeat_interleave)."""
        if t == 1:
            return lo + received
        clip = lo.view(lo.shape[0] // t, t, *lo.shape[1:])  # (n, T, N, d)
        return (clip + received.unsqueeze(1)).view_as(lo)


register_adapter_kind("fusion", "mean-bottleneck", MeanBottleneckConfig, MeanBottleneck)
