"""Addition in the original space (kind ``add``, MMA-DFER Table 3 "ADD"): each stream receives the other streams'
token means as they are, with no compression or expansion.

Legend: n clips, T_s frames of stream s (1 for a per-clip stream), N_s tokens, D width (one for all streams).

Per fused layer, for every participating stream s:
    mean_s = mean over frames, then over tokens, of x_s      (n, 1, D)   (every token: prefix, patches, prompts)
    x_s    = x_s + tanh(gate_s) * mean_{o != s}(mean_o)      broadcast to each of s's frames and tokens
The only parameters are the gates (one per stream and fused layer). Streams of different widths cannot be added in
the original space: building the kind for them is refused with a :class:`~mmadapt.errors.ConfigError` naming the
widths (use ``mean-bottleneck``, which adds in a shared latent space, for such pairs).
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
from ._tokens import clip_mean, to_every_token
from .base import FusionKindConfig
from .gate import gated_residual

__all__ = ["AddFusion", "AddFusionConfig"]


@dataclass
class AddFusionConfig(FusionKindConfig):
    """Gated addition of the other streams' clip means, in the encoders' own (shared) width."""

    gate_init: float = 0.0
    """Initial value of the per-stream gates alpha; the residual is ``tanh(alpha) * mean``, so 0 = identity."""


class AddFusion(nn.Module):
    """One exchange between two or more streams of one width; only the gates are learnt."""

    def __init__(self, config: AddFusionConfig, streams: Mapping[str, StreamInfo]) -> None:
        super().__init__()
        if len(streams) < 2:
            raise ConfigError(f"add fuses two or more streams, got {list(streams)}")
        widths = {s: info.width for s, info in streams.items()}
        if len(set(widths.values())) > 1:
            raise ConfigError(
                f"add fusion adds tokens in the original space, so the streams must share one width; got "
                f"{', '.join(f'{s} {w}' for s, w in widths.items())} (use mean-bottleneck for different widths)"
            )
        self.gate = nn.ParameterDict({s: nn.Parameter(torch.full((1,), float(config.gate_init))) for s in streams})

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        """x[s] (n·T_s, N_s, D) clip-major -> the same shapes."""
        names = list(self.gate)
        w = self.gate[names[0]].dtype
        means = {s: clip_mean(to_weight_dtype(x[s], w), frames[s]) for s in names}  # (n, 1, D)
        out = {}
        for s in names:
            others = [means[o] for o in names if o != s]
            received = others[0] if len(others) == 1 else torch.stack(others).mean(dim=0)  # (n, 1, D)
            out[s] = gated_residual(x[s], to_every_token(received, x[s], frames[s]), self.gate[s])
        return out


register_adapter_kind("fusion", "add", AddFusionConfig, AddFusion)
