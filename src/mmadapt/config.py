"""The configuration of a multimodal adapter model: which adapters, with which settings, at which input sizes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .adapters import FusionConfig, PromptConfig, TemporalHeadConfig
from .errors import ConfigError

_SUBCONFIGS: dict[str, type] = {"prompts": PromptConfig, "fusion": FusionConfig, "head": TemporalHeadConfig}


@dataclass
class MultimodalConfig:
    """Everything ``wrap_encoders`` builds, as one JSON-serialisable record.

    ``prompts`` / ``fusion`` set to ``None`` switch that adapter off (the paper's ablations).
    """

    num_classes: int = 7
    prompts: PromptConfig | None = dataclasses.field(default_factory=PromptConfig)
    fusion: FusionConfig | None = dataclasses.field(default_factory=FusionConfig)
    head: TemporalHeadConfig = dataclasses.field(default_factory=TemporalHeadConfig)
    video_size: tuple[int, int] | None = None
    """Frame size (H, W); ``None`` = the video backbone's native size."""
    audio_size: tuple[int, int] | None = None
    """Spectrogram size (frames, mel bins); ``None`` = the audio backbone's native size."""
    tune_pos_embed: bool = True
    """Tune copies of the backbones' positional tables (the official recipe tunes them)."""
    grad_checkpointing: bool = False
    """Recompute the frozen blocks in the backward pass to save activation memory."""
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.num_classes < 1:
            raise ConfigError(f"num_classes must be >= 1, got {self.num_classes}")
        for name, klass in _SUBCONFIGS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                setattr(self, name, klass.from_dict(value))
            elif value is not None and not isinstance(value, klass):
                raise ConfigError(f"MultimodalConfig.{name} must be a {klass.__name__}, dict or None, got {value!r}")
        if self.head is None:
            raise ConfigError("MultimodalConfig.head cannot be None: the model needs a head to produce logits")
        for name in ("video_size", "audio_size"):
            value = getattr(self, name)
            if value is not None:
                value = (value, value) if isinstance(value, int) else tuple(int(v) for v in value)
                if len(value) != 2:
                    raise ConfigError(f"MultimodalConfig.{name} must be an int or (H, W), got {value}")
                setattr(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MultimodalConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"MultimodalConfig: unknown keys {unknown}; known keys are {sorted(names)}")
        return cls(**d)

    def with_overrides(self, **overrides: Any) -> MultimodalConfig:
        """Return a copy with ``overrides`` applied; a dict for a sub-config updates only the keys it names."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ConfigError(f"unknown override(s) {unknown}; known keys are {sorted(names)}")
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            current = getattr(self, key)
            if key in _SUBCONFIGS and isinstance(value, dict):
                base = current if current is not None else _SUBCONFIGS[key]()
                value = base.replace(**value)
            changes[key] = value
        return dataclasses.replace(self, **changes)
