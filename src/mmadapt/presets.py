"""Presets: named recipes of adapter configs, derived from the backbones they wrap.

A preset is a function ``(anatomies: {stream: Anatomy}) -> MultimodalConfig`` registered under a name, so that
depth-dependent choices (the progressive-prompt schedule, the fused layers) follow the backbones instead of
assuming ViT-B.

This module is the generic machinery only; methods register their presets from their own wing (the MMA-DFER
preset and its Table-4 ablations: :mod:`mmadapt.methods.mma_dfer.presets`, registered by ``mmadapt``
on the registry's first use).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .anatomy import Anatomy
from .config import MultimodalConfig
from .errors import ConfigError, RegistryError, UnknownNameError
from .registry import Registry

__all__ = [
    "PRESETS",
    "Preset",
    "PresetFn",
    "describe_preset",
    "get_preset",
    "list_presets",
    "preset_record",
    "register_preset",
]

PresetFn = Callable[[Mapping[str, Anatomy]], MultimodalConfig]


@dataclass(frozen=True)
class Preset:
    fn: PresetFn
    description: str
    paper_params_m: float | None = None
    """Trainable parameters in millions as a paper prints them (``mmadapt info --presets`` shows them beside ours)."""
    paper_ref: str = ""
    """Where the paper gives the preset, e.g. ``"MMA-DFER Table 3"``."""


def _validate(name: str, preset: Preset) -> None:
    if not callable(preset.fn):
        raise TypeError(f"preset {name!r} must be a callable ({{stream: Anatomy}}) -> MultimodalConfig")


def _describe(preset: Preset) -> str:
    return f"{preset.fn.__module__}.{getattr(preset.fn, '__qualname__', type(preset.fn).__qualname__)}"


PRESETS: Registry[Preset] = Registry("preset", validate=_validate, describe=_describe)


def register_preset(
    name: str,
    fn: PresetFn | None = None,
    *,
    description: str = "",
    paper_params_m: float | None = None,
    paper_ref: str = "",
    override: bool = False,
):
    """Register ``fn`` under ``name``; usable as a decorator. ``description`` defaults to the docstring's first line;
    ``paper_params_m`` / ``paper_ref`` record the parameter count a paper prints for it and where."""

    def _register(f: PresetFn) -> PresetFn:
        doc_lines = (getattr(f, "__doc__", None) or "").strip().splitlines()
        preset = Preset(f, description or (doc_lines[0] if doc_lines else ""), paper_params_m, paper_ref)
        PRESETS.register(name, preset, override=override)
        return f

    return _register if fn is None else _register(fn)


def list_presets(pattern: str = "*") -> list[str]:
    """Registered preset names matching a shell-style ``pattern`` (e.g. ``"mma-*"``), sorted."""
    return PRESETS.list(pattern)


def describe_preset(name: str) -> str:
    """The one-line description of preset ``name`` (its docstring's first line unless registered with one), as
    ``mmadapt info --presets`` prints it; an unknown name is an :class:`UnknownNameError` naming the close ones."""
    return _lookup(name).description


def preset_record(name: str) -> Preset:
    """The registered record of preset ``name`` (its function, description and the paper's figures)."""
    return _lookup(name)


def _lookup(name: str) -> Preset:
    try:
        return PRESETS.get(name)
    except RegistryError as e:
        raise UnknownNameError(str(e)) from None


def get_preset(name: str, *anatomies: Mapping[str, Anatomy] | Anatomy) -> MultimodalConfig:
    """The config of preset ``name`` for these backbones: ``{stream: Anatomy}`` in the model's stream order (or,
    as before named streams, the audio and the video anatomy)."""
    config = _lookup(name).fn(_as_mapping(anatomies))
    if not isinstance(config, MultimodalConfig):
        raise ConfigError(f"preset {name!r} returned {type(config).__name__}, not a MultimodalConfig")
    config.preset = name
    return config


def _as_mapping(anatomies: tuple[Mapping[str, Anatomy] | Anatomy, ...]) -> Mapping[str, Anatomy]:
    if len(anatomies) == 1 and isinstance(anatomies[0], Mapping):
        return anatomies[0]
    if len(anatomies) == 2 and all(isinstance(a, Anatomy) for a in anatomies):
        return {"audio": anatomies[0], "video": anatomies[1]}
    raise ConfigError("get_preset takes one {stream: Anatomy} mapping (or the audio and the video anatomy)")
