"""Mean bottleneck + intermediate temporal adaptor (kind ``mean-bottleneck-ita``): after each exchange, every
per-frame stream's pooled token attends over the clip's frames (MMA-DFER §4.4, Table 2 "ITA").

Legend: n clips, T frames, N tokens, D stream width, d' latent width of the bottleneck, d temporal width,
H heads.

Per fused layer, the mean-bottleneck exchange (:mod:`.mean_bottleneck`) runs first; then, for every participating
per-frame stream (per-clip streams such as audio have no frames to attend over and get nothing):
    c = the frame's pooled token of the exchanged stream      (n·T, D)   first prefix token (CLS), else patch mean
    h = enter(c)                                              (n·T, d)
    h = SelfAttention over the T frames of each clip          (n, T, d)  qkv + out, with biases; no positions
    u = leave(h)                                              (n·T, D)
    the pooled token(s) += tanh(gate) * u                     gate zero-initialised: untrained == mean-bottleneck
``enter``/``leave`` reuse the bottleneck's own down (Linear + LN) and up (Linear + GELU) projections of that stream
when ``d == d'``: ITA-128 on the 128-wide bottleneck introduces only its attention, which is why the paper's
ITA-128 is smaller than ITA-64. For ``d != d'`` either (``projection="width"``) an own Linear+LN ``D -> d`` and
Linear+GELU ``d -> D`` (the paper's parameter ordering ITA-64 > ITA-128; counts: docs/kinds-temporal.md) or
(``projection="latent"``) a Linear ``d' -> d`` after the bottleneck's down and ``d -> d'`` before its up.

``add_to="token"`` adds ``u`` to the token that was read (the CLS; for a family without prefix tokens every patch
token, which shifts their mean by exactly ``u``); ``"frame"`` adds it to every token of the frame, prompts included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..._dtype import to_weight_dtype
from ...errors import ConfigError
from ...streams import StreamInfo
from ..kinds import register_adapter_kind
from .gate import gated_residual
from .mean_bottleneck import MeanBottleneck, MeanBottleneckConfig, _Down, _Up

__all__ = ["FrameSelfAttention", "MeanBottleneckITA", "MeanBottleneckITAConfig"]

Projection = Literal["width", "latent"]
AddTo = Literal["token", "frame"]


@dataclass
class MeanBottleneckITAConfig(MeanBottleneckConfig):
    """The mean bottleneck, then a temporal self-attention over each per-frame stream's pooled tokens."""

    temporal_dim: int = 128
    """Width d of the temporal attention; equal to ``latent_dim`` it reuses the bottleneck's projections."""
    heads: int = 8
    """Attention heads (as the temporal transformer of the head); must divide ``temporal_dim``."""
    projection: Projection = "width"
    """For ``temporal_dim != latent_dim``: own projections from/to the stream width, or from/to the latent."""
    add_to: AddTo = "token"
    """Where the attention's output is added: the pooled token(s) it read, or every token of the frame."""
    temporal_gate_init: float = 0.0
    """Initial value of the temporal gate; 0 = the kind starts as the plain mean bottleneck."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.temporal_dim < 1 or self.heads < 1 or self.temporal_dim % self.heads:
            raise ConfigError(
                f"MeanBottleneckITAConfig: heads ({self.heads}) must be >= 1 and divide temporal_dim "
                f"({self.temporal_dim})"
            )


class FrameSelfAttention(nn.Module):
    """Multi-head self-attention over a clip's frames: one Linear to q, k, v and one out, both with biases
    (4·d² + 4·d parameters)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, T, d) -> (n, T, d)."""
        n, t, _ = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)  # each (n, H, T, d/H)
        return self.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, -1))


class _TemporalPath(nn.Module):
    """One per-frame stream's adaptor: optional own projections, the attention and the gate."""

    def __init__(self, config: MeanBottleneckITAConfig, info: StreamInfo) -> None:
        super().__init__()
        d, latent = config.temporal_dim, config.latent_dim
        own = d != latent
        width = own and config.projection == "width"
        self.down = _Down(info.width, d, config.norm_eps) if width else None
        self.proj_in = nn.Linear(latent, d) if own and not width else None
        self.attn = FrameSelfAttention(d, config.heads)
        self.proj_out = nn.Linear(d, latent) if own and not width else None
        self.up = _Up(d, info.width) if width else None
        self.gate = nn.Parameter(torch.full((1,), float(config.temporal_gate_init)))

    def forward(self, c: torch.Tensor, t: int, shared_down: nn.Module, shared_up: nn.Module) -> torch.Tensor:
        """c (n·T, D) pooled tokens, clip-major -> u (n·T, D)."""
        h = (self.down or shared_down)(c)  # (n·T, d or d')
        if self.proj_in is not None:
            h = self.proj_in(h)
        h = self.attn(h.view(-1, t, h.shape[-1])).flatten(0, 1)  # (n, T, d) -> (n·T, d)
        if self.proj_out is not None:
            h = self.proj_out(h)
        return (self.up or shared_up)(h)


class MeanBottleneckITA(MeanBottleneck):
    """The mean bottleneck plus one temporal adaptor per participating per-frame stream."""

    def __init__(self, config: MeanBottleneckITAConfig, streams: Mapping[str, StreamInfo]) -> None:
        super().__init__(config, streams)  # first: the bottleneck's initialisation matches mean-bottleneck's
        per_frame = {s: info for s, info in streams.items() if info.per_frame}
        if not per_frame:
            raise ConfigError(
                f"mean-bottleneck-ita adapts per-frame streams over time, but none of the fused streams "
                f"{list(streams)} runs per frame"
            )
        self.add_to = config.add_to
        self.tokens = {s: (info.num_prefix_tokens, info.num_tokens) for s, info in per_frame.items()}
        self.temporal = nn.ModuleDict({s: _TemporalPath(config, info) for s, info in per_frame.items()})

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        """x[s] (n·T_s, N_s + P_s, D_s) clip-major -> the same shapes."""
        out = super().forward(x, frames)
        for s, path in self.temporal.items():
            out[s] = self._adapt(s, path, out[s], frames[s])
        return out

    def _adapt(self, s: str, path: _TemporalPath, x: torch.Tensor, t: int) -> torch.Tensor:
        prefix, num_tokens = self.tokens[s]
        read = slice(0, 1) if prefix else slice(0, num_tokens)  # the CLS, or every patch (prompts excluded)
        c = to_weight_dtype(x[:, read].mean(dim=1), path.gate.dtype)  # (n·T, D)
        u = path(c, t, self.down[s], self.up[s]).unsqueeze(1)  # (n·T, 1, D)
        if self.add_to == "frame":
            return gated_residual(x, u.expand_as(x), path.gate)
        part = x[:, read]  # (n·T, 1 or N, D)
        added = gated_residual(part, u.expand_as(part), path.gate)
        return torch.cat([added, x[:, read.stop :]], dim=1)


register_adapter_kind("fusion", "mean-bottleneck-ita", MeanBottleneckITAConfig, MeanBottleneckITA)
