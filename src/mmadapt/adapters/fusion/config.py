"""Config of the fusion bottleneck."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from .._config import AdapterConfig


@dataclass
class FusionConfig(AdapterConfig):
    """One bottleneck per fused (audio block, video block) pair, exchanging low-dimensional token means."""

    latent_dim: int = 128
    """Width d of the shared low-dimensional space (paper Table 6)."""
    layer_map: list[tuple[int, int]] | None = None
    """Fused ``(audio_block, video_block)`` pairs; ``None`` = every block of the shallower encoder, matched
    proportionally in the deeper one (identity for equal depths)."""
    gate_init: float = 0.0
    """Initial value of the per-modality gates alpha; the residual is ``tanh(alpha) * up(...)``, so 0 = identity."""
    norm_eps: float = 1e-5
    """LayerNorm epsilon of the down-projections."""

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ConfigError(f"FusionConfig.latent_dim must be >= 1, got {self.latent_dim}")
        if self.layer_map is not None:
            self.layer_map = [(int(a), int(v)) for a, v in self.layer_map]

    def resolve_layer_map(self, audio_depth: int, video_depth: int) -> list[tuple[int, int]]:
        """Validated ``(audio_block, video_block)`` pairs, increasing in both coordinates."""
        if self.layer_map is None:
            if audio_depth <= video_depth:
                pairs = [(i, (i + 1) * video_depth // audio_depth - 1) for i in range(audio_depth)]
            else:
                pairs = [((j + 1) * audio_depth // video_depth - 1, j) for j in range(video_depth)]
            return pairs
        pairs = list(self.layer_map)
        for a, v in pairs:
            if not (0 <= a < audio_depth and 0 <= v < video_depth):
                raise ConfigError(
                    f"FusionConfig.layer_map pair {(a, v)} is outside the encoders' depths "
                    f"(audio {audio_depth}, video {video_depth})"
                )
        for (a0, v0), (a1, v1) in zip(pairs, pairs[1:]):
            if not (a1 > a0 and v1 > v0):
                raise ConfigError(f"FusionConfig.layer_map must increase strictly in both blocks, got {pairs}")
        return pairs
