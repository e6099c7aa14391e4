"""The configuration of a multimodal adapter model: which adapter kinds, with which settings, at which input sizes.

Each adapter field holds the config of a registered kind (:mod:`mmadapt.adapters.kinds`); as a dict it names its
kind under ``"type"`` (absent: the role's default kind, as format-v1 files were written). Dicts, type checks and
dotted overrides come from :class:`~mmadapt.config_base.ConfigBase`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .adapters import AdapterConfig, MeanBottleneckConfig, PromptConfig, TemporalHeadConfig, config_from_dict
from .adapters._config import kind_field
from .adapters.backbone_lora import BackboneLoraConfig
from .config_base import ConfigBase, did_you_mean
from .errors import ConfigError

__all__ = ["DEFAULT_KINDS", "MultimodalConfig"]

DEFAULT_KINDS: dict[str, str] = {"prompts": "progressive", "fusion": "mean-bottleneck", "head": "temporal-transformer"}
"""The kind a role's config takes when it names no ``type``."""
_LEGACY_SIZES = {"video_size": "video", "audio_size": "audio"}
"""Format-v1 keys for one stream's input size; now entries of ``input_sizes``."""


@dataclass
class MultimodalConfig(ConfigBase):
    """Everything ``wrap_encoders`` builds, as one JSON-serialisable record.

    ``prompts`` / ``fusion`` set to ``None`` switch that adapter off (the paper's ablations).
    """

    _aliases = {"video_size": "input_sizes.video", "audio_size": "input_sizes.audio"}

    num_classes: int | None = None
    """Classes of the classifier; a preset or ``wrap_encoders(num_classes=...)`` sets it."""
    prompts: AdapterConfig | None = kind_field("prompts", DEFAULT_KINDS["prompts"], PromptConfig)
    """Prompt kind applied to every stream (``None``: no prompts)."""
    fusion: AdapterConfig | None = kind_field("fusion", DEFAULT_KINDS["fusion"], MeanBottleneckConfig)
    """Fusion kind between the streams (``None``: no fusion)."""
    head: AdapterConfig = kind_field("head", DEFAULT_KINDS["head"], TemporalHeadConfig)
    """Head kind: pooled stream features -> logits."""
    backbone_lora: BackboneLoraConfig | None = None
    """PEFT LoRA inside every backbone, injected at attach and removed at detach (``None``: backbones untouched)."""
    input_sizes: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    """Input size (H, W) per stream name (frames, mel bins for a spectrogram); a stream not named runs at its
    backbone's native size."""
    tune_pos_embed: bool = True
    """Tune copies of the backbones' positional tables (the official recipe tunes them)."""
    grad_checkpointing: bool = False
    """Recompute the frozen blocks in the backward pass to save activation memory."""
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.head is None:
            raise ConfigError("MultimodalConfig.head cannot be None: the model needs a head to produce logits")
        if not isinstance(self.input_sizes, dict):
            raise ConfigError(f"MultimodalConfig.input_sizes must map stream names to sizes, got {self.input_sizes!r}")
        self.input_sizes = {s: _size(s, v) for s, v in self.input_sizes.items()}
        super().__post_init__()  # type checks; adapter dicts become their kinds' configs
        if self.num_classes is not None and self.num_classes < 1:
            raise ConfigError(f"num_classes must be >= 1, got {self.num_classes}")

    def input_size(self, stream: str) -> tuple[int, int] | None:
        return self.input_sizes.get(stream)

    @classmethod
    def _migrate(cls, data: dict[str, Any], where: str) -> dict[str, Any]:
        data = _migrate_sizes(data)
        if isinstance(data.get("input_sizes"), dict):  # an int is shorthand for a square size
            data["input_sizes"] = {s: _size(s, v) for s, v in data["input_sizes"].items()}
        return data

    def with_overrides(self, **overrides: Any) -> MultimodalConfig:
        """A copy with ``overrides`` applied; a dict for an adapter updates only the keys it names (a ``type`` key
        switches kind), ``input_sizes`` entries are merged, ``video_size``/``audio_size`` are v1 shorthands."""
        overrides = _migrate_sizes(dict(overrides))
        names = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise ConfigError(f"unknown override(s) {unknown}{did_you_mean(unknown[0], names)}; known keys are {names}")
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            current = getattr(self, key)
            if key in DEFAULT_KINDS and isinstance(value, dict):
                value = _merge_kind(key, current, value)
            elif key == "backbone_lora" and isinstance(value, dict) and current is not None:
                value = current.replace(**value)  # as for an adapter: only the keys it names
            elif key == "input_sizes":
                value = {**current, **(value or {})}
            changes[key] = value
        return self.replace(**changes)


def _merge_kind(role: str, current: AdapterConfig | None, changes: dict[str, Any]) -> AdapterConfig:
    """``current`` updated with ``changes``; a different ``type`` starts from that kind's defaults."""
    base = current.to_typed_dict() if current is not None else {"type": DEFAULT_KINDS[role]}
    kind = changes.get("type", base["type"])
    merged = {**base, **changes} if kind == base["type"] else dict(changes)
    return config_from_dict(role, merged, default=DEFAULT_KINDS[role])


def _migrate_sizes(d: dict[str, Any]) -> dict[str, Any]:
    legacy = {k: d.pop(k) for k in list(d) if k in _LEGACY_SIZES}
    sizes = {_LEGACY_SIZES[k]: v for k, v in legacy.items() if v is not None}
    if sizes:
        d["input_sizes"] = {**sizes, **(d.get("input_sizes") or {})}
    return d


def _size(stream: str, value: Any) -> tuple[int, int]:
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple)):
        raise ConfigError(f"MultimodalConfig.input_sizes[{stream!r}] must be an int or (H, W), got {value!r}")
    size = (value, value) if isinstance(value, int) else tuple(value)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in size):
        raise ConfigError(f"MultimodalConfig.input_sizes[{stream!r}] must be an int or (H, W), got {value!r}")
    if len(size) != 2 or min(size) < 1:
        raise ConfigError(f"MultimodalConfig.input_sizes[{stream!r}] must be an int or (H, W), got {value!r}")
    return size  # type: ignore[return-value]
