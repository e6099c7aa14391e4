"""Attention-bottleneck fusion (kind ``attention-bottleneck``; MBT, Nagrani et al., NeurIPS 2021): a few shared
fusion tokens join every participating stream's fused blocks, are processed by that stream's own frozen attention,
and are averaged across streams after each fused layer, so information crosses modalities only through them.

Legend: n clips, T_s frames of stream s (1 for a per-clip stream), N_s tokens (prompts included), D_s width,
B fusion tokens, d the shared width.

Per fused layer, with z (n, B, d) the shared tokens carried from the previous fused layer (0 before the first):
    z      = z + tokens                                    (n, B, d)   this layer's learnable tokens
    z_s    = in_s(z), one copy per frame of the clip       (n·T_s, B, D_s)
    native = block_s(x_s)                                  (n·T_s, N_s, D_s)     the stream's own output
    both   = block_s([x_s; z_s])                           (n·T_s, N_s + B, D_s) the same block, tokens appended
    x_s    = native + tanh(gate_s) * (both[:, :N_s] - native)
    z      = mean over streams of out_s(mean over frames of both[:, N_s:])

Why two runs of the block: appending tokens to a frozen block changes every other token's softmax, so plain MBT is
not the identity at init. Gating the difference makes an untrained model exactly the native one (tanh(0) = 0)
while the tokens still gather (their queries see [x_s; z_s]) and spread (x_s's queries see them, through the gate)
information with each stream's own attention weights, in every family whose blocks take appended tokens. The
alternatives need a seam inside attention that the families do not share: a key-side logit bias on the fusion
tokens (timm ViT has none, Hugging Face ViT takes no mask), or fusion-token-only queries over the stream's keys.
Cost: each fused block runs twice (once on N_s + B tokens), about 2x the backbone's forward when every block is
fused (docs/kinds-mbt.md has the measurement).

Widths may differ: the shared tokens live in a space of width ``dim`` (default the widest participating stream),
mapped to and from each stream by linear maps initialised as (rectangular) identities, so equal widths start as
plain MBT. Each fused layer owns its tokens, added to the carried ones, so every parameter is used in every step:
the last fused layer, whose shared tokens no layer takes, has no maps out of the streams (:meth:`last_layer`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from ..._dtype import to_weight_dtype
from ...errors import ConfigError
from ...streams import StreamInfo
from ..kinds import register_adapter_kind
from .base import FusionKindConfig
from .gate import gated_residual

__all__ = ["AttentionBottleneck", "AttentionBottleneckConfig"]

_CARRY = "attention-bottleneck.tokens"
"""Key of the shared tokens (n, B, d) in the model's per-forward fusion state."""


@dataclass
class AttentionBottleneckConfig(FusionKindConfig):
    """Shared fusion tokens processed by every stream's own blocks, averaged across streams after each fused layer."""

    num_tokens: int = 4
    """Number B of shared fusion tokens (MBT uses 4)."""
    dim: int | None = None
    """Width d of the shared token space; ``None`` = the widest participating stream."""
    gate_init: float = 0.0
    """Initial per-stream gates; a stream's change is ``tanh(gate) * (fused - native)``, so 0 = the native model."""
    init_std: float = 0.02
    """Std of the learnable tokens (MBT: normal, std 0.02)."""
    maps: str = "auto"
    """Linear maps between the token space and a stream: ``"auto"`` only where the stream's width differs from
    ``dim`` (MBT itself has none: its streams share one width), ``"always"`` on every stream (identity-initialised,
    trainable: 2·D_s·d more parameters per stream and fused layer, D_s·d in the last; about 27 M on a ViT-B pair fused
    at every block)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.maps not in MAPS:
            raise ConfigError(f"AttentionBottleneckConfig.maps must be one of {', '.join(MAPS)}, got {self.maps!r}")
        if self.num_tokens < 1:
            raise ConfigError(f"AttentionBottleneckConfig.num_tokens must be >= 1, got {self.num_tokens}")
        if self.dim is not None and self.dim < 1:
            raise ConfigError(f"AttentionBottleneckConfig.dim must be >= 1 or None, got {self.dim}")
        if self.init_std < 0:
            raise ConfigError(f"AttentionBottleneckConfig.init_std must be >= 0, got {self.init_std}")


MAPS = ("auto", "always")


def _map(d_in: int, d_out: int, maps: str) -> nn.Module:
    """Token space <-> stream: nothing where the widths agree (``maps="auto"``), else an identity-started Linear."""
    return nn.Identity() if maps == "auto" and d_in == d_out else _identity_linear(d_in, d_out)


def _identity_linear(d_in: int, d_out: int) -> nn.Linear:
    """A linear map starting as the (rectangular) identity: truncates or zero-pads the width."""
    lin = nn.Linear(d_in, d_out)
    with torch.no_grad():
        nn.init.eye_(lin.weight)
        lin.bias.zero_()
    return lin


class AttentionBottleneck(nn.Module):
    """One fused layer of MBT between two or more streams; it runs the streams' fused blocks itself."""

    runs_blocks: ClassVar[bool] = True

    def __init__(self, config: AttentionBottleneckConfig, streams: Mapping[str, StreamInfo]) -> None:
        super().__init__()
        if len(streams) < 2:
            raise ConfigError(f"attention-bottleneck fuses two or more streams, got {list(streams)}")
        d = config.dim or max(info.width for info in streams.values())
        self.num_tokens = config.num_tokens
        self.tokens = nn.Parameter(torch.randn(config.num_tokens, d) * config.init_std)  # (B, d)
        self.to_stream = nn.ModuleDict({s: _map(d, info.width, config.maps) for s, info in streams.items()})
        self.from_stream = nn.ModuleDict({s: _map(info.width, d, config.maps) for s, info in streams.items()})
        self.gate = nn.ParameterDict({s: nn.Parameter(torch.full((1,), float(config.gate_init))) for s in streams})

    def last_layer(self) -> None:
        """Called by the model on the last fused layer's module: no later layer takes its shared tokens, so the maps
        that gather them would be trainable parameters without a gradient (DDP would need ``find_unused_parameters``)
        and counted for nothing; they go, and the gathering is skipped."""
        self.from_stream = nn.ModuleDict()

    def forward(
        self,
        x: Mapping[str, torch.Tensor],
        frames: Mapping[str, int],
        *,
        blocks: Mapping[str, Callable[..., torch.Tensor]],
        state: dict[str, Any],
    ) -> dict[str, torch.Tensor]:
        """x[s] (n·T_s, N_s, D_s), the fused block's input -> its fused output, same shapes."""
        names = list(self.gate)
        w = self.tokens.dtype
        b = self.num_tokens
        clips = x[names[0]].shape[0] // frames[names[0]]
        carried = state.get(_CARRY)
        z = self.tokens.expand(clips, -1, -1) if carried is None else carried + self.tokens  # (n, B, d)
        out: dict[str, torch.Tensor] = {}
        gathered = []
        for s in names:
            xs, t = x[s], frames[s]
            zs = self.to_stream[s](z).to(xs.dtype)  # (n, B, D_s)
            if t > 1:  # one copy per frame, clip-major like xs
                zs = zs.unsqueeze(1).expand(-1, t, -1, -1).reshape(-1, b, zs.shape[-1])  # (n·T, B, D_s)
            native = blocks[s](xs)  # (n·T, N, D_s)
            both = blocks[s](torch.cat([xs, zs], dim=1), extra_tokens=b)  # (n·T, N + B, D_s)
            n_tok = xs.shape[1]
            out[s] = gated_residual(native, both[:, :n_tok] - native, self.gate[s])
            if not self.from_stream:  # the last fused layer: nothing to carry
                continue
            fz = both[:, n_tok:]  # (n·T, B, D_s)
            if t > 1:
                fz = fz.view(clips, t, b, fz.shape[-1]).mean(dim=1)  # (n, B, D_s): the clip's frames averaged
            gathered.append(self.from_stream[s](to_weight_dtype(fz, w)))  # (n, B, d)
        if gathered:
            state[_CARRY] = torch.stack(gathered).mean(dim=0)  # (n, B, d): averaged over streams
        return out


register_adapter_kind("fusion", "attention-bottleneck", AttentionBottleneckConfig, AttentionBottleneck)
