"""Late concatenation (head kind ``late-concat``): each stream on its own, concatenated, one classifier.

Legend: B clips, T frames, D_s width of stream s, K classes.

The CLAIP-Emo head (``models/baseline.py`` of MSA-LMC/CLAIP-Emo): a per-frame stream's pooled features go through a
small temporal transformer over its frames in the stream's own width (CLS token + temporal positions, pre-norm,
no final norm; the CLS output is the stream embedding); a per-clip stream's embedding is its backbone's own pooled
feature (CLS or token mean, as the anatomy pools). The embeddings are concatenated in the model's stream order
(audio then video for ``wrap_encoders(audio_vit, video_vit)``, as the official ``torch.cat((audio, video))``) and
a Linear maps them to logits. No stream sees another before the classifier: there is no fusion to switch off.
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
from .layers import TemporalTransformer

__all__ = ["LateConcatConfig", "LateConcatHead"]


@dataclass
class LateConcatConfig(AdapterConfig):
    """A temporal transformer per per-frame stream (in that stream's width), then concatenation and a Linear.

    Defaults are the official CLAIP-Emo ``Temporal_Transformer_Cls`` (depth 1, 8 heads of 64, MLP 1024, 16 frames,
    randn-initialised CLS token and positions).
    """

    depth: int = 1
    """Layers of each temporal transformer."""
    heads: int = 8
    dim_head: int = 64
    mlp_dim: int = 1024
    max_frames: int = 16
    """Frames covered by each temporal position table; any T <= max_frames works."""
    dropout: float = 0.0
    """Dropout inside the temporal transformers."""
    classifier_dropout: float = 0.0
    """Dropout on the concatenated embedding before the classifier (the official ``ConcatFusion`` default: none)."""
    norm_eps: float = 1e-5
    token_init_std: float = 1.0
    """Std of the CLS tokens and temporal positions (the official code uses randn, std 1)."""
    use_transformer: bool = True
    """False = mean over frames instead of the temporal transformer."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("depth", "heads", "dim_head", "mlp_dim", "max_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"LateConcatConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("dropout", "classifier_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"LateConcatConfig.{name} must be in [0, 1), got {getattr(self, name)}")


class LateConcatHead(nn.Module):
    """Pooled features {stream: (B, T, D_s) per-frame or (B, D_s) per-clip} -> (B, sum D_s) -> logits (B, K)."""

    def __init__(self, config: LateConcatConfig, streams: Mapping[str, StreamInfo], num_classes: int) -> None:
        super().__init__()
        c = config
        self.config = config
        self.order = list(streams)
        self.per_frame = [s for s, info in streams.items() if info.per_frame]
        self.temporal = nn.ModuleDict()
        if c.use_transformer:
            for s in self.per_frame:  # built in stream order: the seeded initialisation follows the streams
                self.temporal[s] = TemporalTransformer(c, streams[s].width)  # in the stream's own width
        self.dropout = nn.Dropout(c.classifier_dropout)
        self.classifier = nn.Linear(sum(info.width for info in streams.values()), num_classes)

    def check_frames(self, frames: Mapping[str, int]) -> None:
        """Raise before the encoders run if a per-frame stream's clip length does not fit its position table."""
        for s in self.per_frame:
            if not 1 <= frames[s] <= self.config.max_frames:
                raise InputShapeError(
                    f"{s} has T={frames[s]} frames; the late-concat head takes 1..{self.config.max_frames} "
                    "(LateConcatConfig.max_frames)"
                )

    def embed(self, s: str, pooled: torch.Tensor) -> torch.Tensor:
        """One stream's embedding (B, D_s)."""
        if s not in self.per_frame:
            return pooled  # (B, D_s): the backbone's own pooling
        if pooled.shape[1] > self.config.max_frames:
            raise InputShapeError(
                f"late-concat covers at most max_frames={self.config.max_frames}, got T={pooled.shape[1]}"
            )
        return self.temporal[s](pooled) if s in self.temporal else pooled.mean(dim=1)  # (B, T, D_s) -> (B, D_s)

    def forward_features(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([self.embed(s, pooled[s]) for s in self.order], dim=-1)  # (B, sum D_s)

    def forward(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.classifier(self.dropout(self.forward_features(pooled)))


register_adapter_kind("head", "late-concat", LateConcatConfig, LateConcatHead)
