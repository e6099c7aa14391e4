"""The MMA-DFER head (kind ``temporal-transformer``): joint adaptation, multimodal temporal transformer, classifier.

Legend: B clips, T frames, D head width (``dim``), K classes.

A head kind's module is built as ``cls(config, streams, num_classes)`` and maps the streams' pooled features
(``{stream: (B, T, D_s)}`` per-frame, ``{stream: (B, D_s)}`` per-clip) to a clip embedding (``forward_features``)
and logits (``forward``); ``check_frames`` rejects clip lengths it cannot take before the encoders run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import ConfigError, InputShapeError
from ...streams import StreamInfo
from .._config import AdapterConfig, kind_field
from ..kinds import build_adapter, register_adapter_kind
from .joint import AddProjectConfig
from .layers import TemporalTransformer

__all__ = ["TemporalHead", "TemporalHeadConfig"]


@dataclass
class TemporalHeadConfig(AdapterConfig):
    """Joint adaptation (a ``joint`` kind, by default the clip's pooled audio token added to every frame, then Linear
    to ``dim``) followed by a small pre-norm transformer over frames with a learnable CLS token; the classifier reads
    the CLS output."""

    dim: int = 512
    """Width of the temporal transformer."""
    depth: int = 1
    """Number of transformer layers (the official ``temporal_layers``)."""
    heads: int = 8
    dim_head: int = 64
    mlp_dim: int = 1024
    max_frames: int = 16
    """Frames covered by the temporal position table; any T <= max_frames works at inference."""
    dropout: float = 0.0
    norm_eps: float = 1e-5
    token_init_std: float = 1.0
    """Std of the CLS token and temporal positions (the official code uses randn, std 1)."""
    use_transformer: bool = True
    """False = mean over frames after joint adaptation (Table 4 rows without MTT)."""
    joint: AdapterConfig = kind_field("joint", "add-project", AddProjectConfig)
    """The joint adaptation's config (a ``joint`` kind; a dict names its ``type``)."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; a dict ``joint`` becomes its kind's config
        for name in ("dim", "depth", "heads", "dim_head", "mlp_dim", "max_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TemporalHeadConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"TemporalHeadConfig.dropout must be in [0, 1), got {self.dropout}")


class TemporalHead(nn.Module):
    """Pooled stream features -> clip embedding (B, D) -> logits (B, K)."""

    def __init__(self, config: TemporalHeadConfig, streams: Mapping[str, StreamInfo], num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.per_frame = [s for s, info in streams.items() if info.per_frame]
        self.joint = build_adapter(config.joint, "joint", streams, config.dim)
        self.temporal = TemporalTransformer(config, config.dim) if config.use_transformer else None
        self.classifier = nn.Linear(config.dim, num_classes)

    def check_frames(self, frames: Mapping[str, int]) -> None:
        """Raise before the encoders run if a per-frame stream's clip length does not fit the position table."""
        for s in self.per_frame:
            t = frames[s]
            if not 1 <= t <= self.config.max_frames:
                raise InputShapeError(
                    f"{s} has T={t} frames; the temporal head takes 1..{self.config.max_frames} "
                    f"(TemporalHeadConfig.max_frames)"
                )

    def forward_features(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        z = self.joint(pooled)  # (B, T, D)
        t = z.shape[1]
        if t > self.config.max_frames:
            raise InputShapeError(
                f"the temporal head covers at most max_frames={self.config.max_frames} frames, got T={t}"
            )
        return self.temporal(z) if self.temporal is not None else z.mean(dim=1)

    def forward(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.classifier(self.forward_features(pooled))


register_adapter_kind("head", "temporal-transformer", TemporalHeadConfig, TemporalHead)
