"""Cross-modal attention in the style of MulT (Tsai et al., ACL 2019) (kind ``mult``, MMA-DFER Table 3 "MULT"):
every stream attends to the other streams' tokens and adds the result back through a gate.

Legend: n clips, T_s frames of stream s (1 for a per-clip stream), N_s tokens, D_s width, d attention width
(``dim``, split into ``heads`` heads), O(s) the other participating streams.

Per fused layer, for every participating stream s (with two streams: audio->video and video->audio):
    z_o  = LN_o(x_o) viewed per clip                          (n, T_o·N_o, D_o)   one LayerNorm per stream
    q    = Wq_s z_s                                           (n, T_s·N_s, d)
    k, v = concat over o in O(s) of Wk_{s<-o} z_o, Wv_{s<-o} z_o   (n, Σ_o T_o·N_o, d)
    x_s  = x_s + tanh(gate_s) * Wo_s MHA(q, k, v)             back to (n·T_s, N_s, D_s)
Per-frame against per-clip streams: attention is taken per clip. Each frame's tokens of a per-frame stream (video)
attend to all tokens of that clip in the other streams (its clip's audio tokens, and every frame of another
per-frame stream); a per-clip stream (audio) attends to the tokens of all frames of its clip. Queries are
independent in attention, so this equals running every frame against its clip's keys, without repeating them.
Every ordered pair has its own key/value projections (widths may differ between streams).
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
from ._tokens import clip_tokens
from .base import FusionKindConfig
from .gate import gated_residual

__all__ = ["MultFusion", "MultFusionConfig"]


@dataclass
class MultFusionConfig(FusionKindConfig):
    """Gated cross-modal multi-head attention from each stream to the others' tokens."""

    dim: int = 128
    """Total attention width d (MMA-DFER §4.5: 128, matching the bottleneck's latent width)."""
    heads: int = 2
    """Attention heads (MMA-DFER §4.5: 2); ``dim`` must be a multiple."""
    gate_init: float = 0.0
    """Initial value of the per-stream gates alpha; the residual is ``tanh(alpha) * attention``, so 0 = identity."""
    norm_eps: float = 1e-5
    """Epsilon of the per-stream input LayerNorms."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_heads("MultFusionConfig", self.dim, self.heads)


class MultFusion(nn.Module):
    """One cross-modal attention exchange between two or more streams; widths may differ between streams."""

    def __init__(self, config: MultFusionConfig, streams: Mapping[str, StreamInfo]) -> None:
        super().__init__()
        if len(streams) < 2:
            raise ConfigError(f"mult fuses two or more streams, got {list(streams)}")
        d, width = config.dim, {s: info.width for s, info in streams.items()}
        self.heads = config.heads
        self.norm = nn.ModuleDict({s: nn.LayerNorm(w, eps=config.norm_eps) for s, w in width.items()})
        self.query = nn.ModuleDict({s: nn.Linear(w, d) for s, w in width.items()})
        # key[s][o]: keys that receiver s reads from stream o
        self.key = nn.ModuleDict(
            {s: nn.ModuleDict({o: nn.Linear(width[o], d) for o in width if o != s}) for s in width}
        )
        self.value = nn.ModuleDict(
            {s: nn.ModuleDict({o: nn.Linear(width[o], d) for o in width if o != s}) for s in width}
        )
        self.out = nn.ModuleDict({s: nn.Linear(d, w) for s, w in width.items()})
        self.gate = nn.ParameterDict({s: nn.Parameter(torch.full((1,), float(config.gate_init))) for s in streams})

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        """x[s] (n·T_s, N_s, D_s) clip-major -> the same shapes."""
        names = list(self.gate)
        w = self.gate[names[0]].dtype
        z = {s: clip_tokens(self.norm[s](to_weight_dtype(x[s], w)), frames[s]) for s in names}  # (n, T·N, D_s)
        out = {}
        for s in names:
            q = self.query[s](z[s])  # (n, T_s·N_s, d)
            k = torch.cat([self.key[s][o](z[o]) for o in self.key[s]], dim=1)  # (n, Σ T_o·N_o, d)
            v = torch.cat([self.value[s][o](z[o]) for o in self.value[s]], dim=1)
            h = self.out[s](attend(q, k, v, self.heads))  # (n, T_s·N_s, D_s)
            out[s] = gated_residual(x[s], h.view_as(x[s]), self.gate[s])
        return out


register_adapter_kind("fusion", "mult", MultFusionConfig, MultFusion)
