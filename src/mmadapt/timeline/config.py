"""``TimelineConfig``: how a whole video is cut into windows, how faces are tracked and how windows are batched."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config_base import ConfigBase
from ..data.faces import FaceCropConfig
from ..errors import ConfigError

__all__ = ["DEFAULT_SAMPLE_RATE", "TimelineConfig"]

DEFAULT_SAMPLE_RATE = 16_000
"""Audio rate used when neither the timeline nor the experiment names one: the rate of the official MAFW/DFEW
wavs (and of the demo's clips) that the audio encoders' log-mel statistics come from."""


@dataclass
class TimelineConfig(ConfigBase):
    """Window schedule, face tracking and batching of :func:`~mmadapt.timeline.predict.predict_timeline`."""

    window: float = 2.0
    """Window length in seconds (each window is one clip for the model)."""
    stride: float = 0.5
    """Seconds between the starts of consecutive windows (< window: overlapping windows)."""
    batch_size: int = 8
    """Windows per model call."""
    detect_faces: bool = True
    """Crop each frame to the tracked MTCNN face (as ``prep-faces`` does for training); False feeds whole frames,
    as the one-clip ``predict`` does, and reports ``face_found`` as None."""
    max_gap: float = 0.5
    """A frame without a detection reuses the last box seen at most this many seconds before it."""
    face: FaceCropConfig = field(default_factory=FaceCropConfig)
    """MTCNN settings and the crop size (the same settings as ``prep-faces``)."""
    sample_rate: int | None = None
    """Rate the audio track is resampled to; None: the experiment's ``data.sample_rate``, else 16 kHz."""
    progress: bool = False
    """Show a progress bar over the windows (only on an interactive terminal)."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; a dict for ``face`` becomes a FaceCropConfig
        if not self.window > 0:
            raise ConfigError(f"window must be > 0 seconds, got {self.window}")
        if not 0 < self.stride <= self.window:
            raise ConfigError(f"stride must lie in (0, window={self.window}] seconds, got {self.stride}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.max_gap < 0:
            raise ConfigError(f"max_gap must be >= 0 seconds, got {self.max_gap}")
        if self.sample_rate is not None and self.sample_rate < 1:
            raise ConfigError(f"sample_rate must be a positive rate or None, got {self.sample_rate}")

    def resolved_rate(self, data_rate: int | None) -> int:
        """The rate the audio is resampled to, given the experiment's ``data.sample_rate``."""
        return self.sample_rate or data_rate or DEFAULT_SAMPLE_RATE
