"""Config of the temporal head (joint adaptation + multimodal temporal transformer + classifier)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from .._config import AdapterConfig


@dataclass
class TemporalHeadConfig(AdapterConfig):
    """Joint adaptation (audio pooled token added to every frame, then Linear to ``dim``) followed by a small
    pre-norm transformer over frames with a learnable CLS token; the classifier reads the CLS output."""

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

    def __post_init__(self) -> None:
        for name in ("dim", "depth", "heads", "dim_head", "mlp_dim", "max_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"TemporalHeadConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"TemporalHeadConfig.dropout must be in [0, 1), got {self.dropout}")
