"""``DataConfig``: everything a clip dataset needs to turn files into ``(video, audio, label)`` tensors.

Dicts, type checks and dotted overrides come from :class:`~mmadapt.config_base.ConfigBase`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config_base import ConfigBase
from ..errors import ConfigError
from .fbank import FbankConfig
from .transforms import TransformConfig

__all__ = ["DataConfig"]

_MODES = ("train", "test")
_MISSING_AUDIO = ("error", "zeros")
_ON_DECODE_ERROR = ("error", "skip")


@dataclass
class DataConfig(ConfigBase):
    """Sampling, geometry, audio features and failure policies of a clip dataset (defaults = official test)."""

    _aliases = {
        "img_size": "transform.img_size",
        "audio_frames": "audio.target_frames",
        "mel_bins": "audio.num_mel_bins",
    }
    """Override keys for the derived properties below."""

    num_frames: int = 16
    """Frames per clip (T): one per temporal segment."""
    mode: str = "test"
    """'train' (random frame per segment, augmentation) or 'test' (segment midpoints, resize only)."""
    test_clips: int = 1
    """Views per clip in test mode; >1 returns video (K, T, 3, S, S) for the caller to average over K."""
    transform: TransformConfig = field(default_factory=TransformConfig)
    """Frame size and augmentation."""
    audio: FbankConfig = field(default_factory=FbankConfig)
    """Audio features (frames, mel bins, normalisation)."""
    sample_rate: int | None = None
    """If set, an audio file at another rate is an error (no silent resampling)."""
    missing_audio: str = "error"
    """No audio file/track: 'error', or 'zeros' (official MAFW: zero log-mels, normalised; counted)."""
    on_decode_error: str = "error"
    """Undecodable media: 'error', or 'skip' (warn, count, serve another valid clip instead)."""
    max_replacements: int = 8
    """With 'skip': how many following clips to try before giving up on an item."""
    seed: int | None = None
    """Augmentation/sampling seed; item RNG = f(seed, epoch, index). None: torch's global RNG."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; dicts for ``transform`` / ``audio`` become their configs
        if self.num_frames < 1:
            raise ConfigError(f"num_frames must be >= 1, got {self.num_frames}")
        if self.mode not in _MODES:
            raise ConfigError(f"mode must be one of {_MODES}, got {self.mode!r}")
        if self.test_clips < 1:
            raise ConfigError(f"test_clips must be >= 1, got {self.test_clips}")
        if self.sample_rate is not None and self.sample_rate < 1:
            raise ConfigError(f"sample_rate must be a positive rate or None, got {self.sample_rate}")
        if self.missing_audio not in _MISSING_AUDIO:
            raise ConfigError(f"missing_audio must be one of {_MISSING_AUDIO}, got {self.missing_audio!r}")
        if self.on_decode_error not in _ON_DECODE_ERROR:
            raise ConfigError(f"on_decode_error must be one of {_ON_DECODE_ERROR}, got {self.on_decode_error!r}")
        if self.max_replacements < 0:
            raise ConfigError(f"max_replacements must be >= 0, got {self.max_replacements}")
        if self.missing_audio == "zeros" and self.audio.target_frames is None:
            raise ConfigError("missing_audio='zeros' needs a fixed audio.target_frames")

    @property
    def train(self) -> bool:
        return self.mode == "train"

    @property
    def img_size(self) -> int:
        return self.transform.img_size

    @property
    def audio_frames(self) -> int | None:
        return self.audio.target_frames

    @property
    def mel_bins(self) -> int:
        return self.audio.num_mel_bins
