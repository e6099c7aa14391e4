"""Joint adaptation (kind ``add-project``): the streams' pooled features become one sequence over frames.

Legend: B clips, T frames, D_s width of stream s, D head width (``dim``).

The official MMA-DFER head adds the clip's pooled audio token to every frame's pooled video token and projects the
sum to ``dim``. Generally: every stream is added to the *anchor* stream (by default the first per-frame stream),
after a Linear to the anchor's width where widths differ; per-clip streams are broadcast over the anchor's frames,
per-frame streams are added frame by frame (they must have the anchor's T).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import ConfigError, InputShapeError
from ...streams import StreamInfo
from .._config import AdapterConfig
from ..kinds import register_adapter_kind

__all__ = ["AddProjectConfig", "JointAdaptation"]


@dataclass
class AddProjectConfig(AdapterConfig):
    """Sum the streams' pooled features on the anchor's frames, then project to the head's width."""

    anchor: str | None = None
    """The stream the others are added to; ``None`` = the first per-frame stream (else the first stream)."""


class JointAdaptation(nn.Module):
    """Pooled features {stream: (B, T, D_s) per-frame or (B, D_s) per-clip} -> (B, T, D)."""

    def __init__(self, config: AddProjectConfig, streams: Mapping[str, StreamInfo], dim: int) -> None:
        super().__init__()
        per_frame = [s for s, info in streams.items() if info.per_frame]
        anchor = config.anchor or (per_frame[0] if per_frame else next(iter(streams)))
        if anchor not in streams:
            raise ConfigError(f"add-project anchor {anchor!r} is not a stream of this model ({list(streams)})")
        self.anchor = anchor
        self.others = [s for s in streams if s != anchor]
        self.per_frame = {s: info.per_frame for s, info in streams.items()}
        width = streams[anchor].width
        # widths differ -> bring the stream to the anchor's width first; equal widths need no extra parameters
        self.proj_in = nn.ModuleDict(
            {s: nn.Linear(streams[s].width, width) for s in self.others if streams[s].width != width}
        )
        self.proj = nn.Linear(width, dim)

    def check_frames(self, frames: Mapping[str, int]) -> None:
        """Raise before the encoders run if a per-frame stream's T differs from the anchor's (1 for a per-clip
        anchor): as :meth:`forward`, which adds them frame by frame."""
        for s in self.others:
            if self.per_frame[s] and frames[s] != frames[self.anchor]:
                raise InputShapeError(
                    f"{s} has T={frames[s]} frames but the anchor {self.anchor} has T={frames[self.anchor]}; "
                    "add-project adds the per-frame streams frame by frame, so they need the same T"
                )

    def forward(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        x = pooled[self.anchor]
        if not self.per_frame[self.anchor]:
            x = x.unsqueeze(1)  # (B, 1, D_anchor)
        for s in self.others:
            p = pooled[s]
            if s in self.proj_in:
                p = self.proj_in[s](p)
            if not self.per_frame[s]:
                p = p.unsqueeze(1)  # broadcast over the anchor's frames
            elif p.shape[1] != x.shape[1]:
                raise InputShapeError(
                    f"add-project: stream {s!r} has {p.shape[1]} frames but the anchor {self.anchor!r} has {x.shape[1]}"
                )
            x = x + p
        return self.proj(x)


register_adapter_kind("joint", "add-project", AddProjectConfig, JointAdaptation)
