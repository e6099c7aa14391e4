"""Presets: named recipes of adapter configs, derived from the backbones they wrap.

A preset is a function ``(audio_anatomy, video_anatomy) -> MultimodalConfig`` registered under a name, so that
depth-dependent choices (the progressive-prompt schedule, the fusion layer map) follow the backbones instead of
assuming ViT-B.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from .adapters import FusionConfig, PromptConfig, TemporalHeadConfig
from .anatomy import Anatomy
from .config import MultimodalConfig
from .errors import ConfigError

PresetFn = Callable[[Anatomy, Anatomy], MultimodalConfig]
_PRESETS: dict[str, tuple[PresetFn, str]] = {}


def register_preset(name: str, fn: PresetFn | None = None, *, description: str = "", override: bool = False):
    """Register ``fn`` under ``name``; usable as a decorator."""

    def _register(f: PresetFn) -> PresetFn:
        if not callable(f):
            raise TypeError(f"preset {name!r} must be a callable (audio_anatomy, video_anatomy) -> MultimodalConfig")
        if name in _PRESETS and not override:
            raise ValueError(f"a preset named {name!r} is already registered")
        doc_lines = (f.__doc__ or "").strip().splitlines()
        _PRESETS[name] = (f, description or (doc_lines[0] if doc_lines else ""))
        return f

    return _register if fn is None else _register(fn)


def list_presets(pattern: str = "*") -> list[str]:
    """Registered preset names matching a shell-style ``pattern`` (e.g. ``"mma-*"``), sorted."""
    return sorted(n for n in _PRESETS if fnmatch.fnmatchcase(n, pattern))


def describe_preset(name: str) -> str:
    return _lookup(name)[1]


def _lookup(name: str) -> tuple[PresetFn, str]:
    if name not in _PRESETS:
        raise ConfigError(f"unknown preset {name!r}; registered presets: {', '.join(list_presets())}")
    return _PRESETS[name]


def get_preset(name: str, audio: Anatomy, video: Anatomy) -> MultimodalConfig:
    """The config of preset ``name`` for these two backbones."""
    config = _lookup(name)[0](audio, video)
    config.preset = name
    return config


# ---- MMA-DFER and its Table-4 ablations -----------------------------------------------------------------------
def _mma_dfer(audio: Anatomy, video: Anatomy) -> MultimodalConfig:
    """MMA-DFER (CVPR-W 2024): prompts with two progressive updates, fusion at every block, temporal transformer."""
    return MultimodalConfig(
        num_classes=7,
        prompts=PromptConfig(num_prompts=6, progressive=True, num_updates=2),
        fusion=FusionConfig(latent_dim=128),
        head=TemporalHeadConfig(dim=512, depth=1, heads=8, dim_head=64, mlp_dim=1024, max_frames=16),
    )


def _ablation(description: str, prompts: bool, progressive: bool, temporal: bool, fusion: bool) -> PresetFn:
    def fn(audio: Anatomy, video: Anatomy) -> MultimodalConfig:
        c = _mma_dfer(audio, video)
        return c.with_overrides(
            prompts=c.prompts.replace(progressive=progressive) if prompts else None,
            fusion=c.fusion if fusion else None,
            head=c.head.replace(use_transformer=temporal),
        )

    fn.__doc__ = description
    return fn


register_preset("mma-dfer", _mma_dfer)
# Table 4 of the paper: (Pr, Pr.Pr., MTT, FB)
_TABLE4 = {
    "mma-dfer-plain": ("no prompts, no temporal transformer, no fusion (- - - -)", False, False, False, False),
    "mma-dfer-prompts-only": ("static prompts only (+ - - -)", True, False, False, False),
    "mma-dfer-progressive-only": ("progressive prompts only (+ + - -)", True, True, False, False),
    "mma-dfer-no-fusion": ("no fusion bottleneck (+ + + -)", True, True, True, False),
    "mma-dfer-no-temporal": ("no temporal transformer: mean over frames (+ + - +)", True, True, False, True),
    "mma-dfer-no-prompts": ("no prompts (- - + +)", False, False, True, True),
    "mma-dfer-static-prompts": ("prompts without progressive updates (+ - + +)", True, False, True, True),
}
for _name, (_desc, *_flags) in _TABLE4.items():
    register_preset(_name, _ablation(_desc, *_flags))
