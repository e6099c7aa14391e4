"""A converted model on disk: the adapter directory plus both backbones, rebuildable without the official code.

Layout of the directory::

    adapter_config.json, adapter_model.safetensors   (save_adapter: config + adapter tensors)
    audio_backbone.safetensors, video_backbone.safetensors   (frozen backbone weights)
    official_extras.safetensors   (unused official tensors, for a bit-exact way back; optional)
    converted_backbones.json   (builder name + kwargs per backbone; written last)

Every file is written under a temporary name and renamed; the manifest comes last, so a directory without it
is an interrupted write and is refused by :func:`load_converted`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ...._io import write_json, write_safetensors
from ....backbones.registry import is_registered
from ....errors import CheckpointError
from ....model import MultimodalAdapterModel
from ._build import assign_backbone, build_meta_backbone, check_state_fits
from .architecture import STREAM_LAYOUT, OfficialArchitecture, head_rows_from
from .from_official import EXTRAS_ATTR

__all__ = ["BACKBONE_FILES", "EXTRAS_FILE", "MANIFEST", "load_converted", "save_converted"]

MANIFEST = "converted_backbones.json"
FORMAT = "mmadapt-converted-backbones"
FORMAT_VERSION = 1
BACKBONE_FILES = {s: f"{s}_backbone.safetensors" for s in STREAM_LAYOUT}
EXTRAS_FILE = "official_extras.safetensors"


def _version() -> str:
    from ...._version import __version__

    return __version__


def save_converted(
    model: MultimodalAdapterModel,
    directory: str | PathLike[str],
    extras: Mapping[str, torch.Tensor] | None = None,
    *,
    source: str | None = None,
) -> dict[str, Path]:
    """Write ``model`` (an official-layout model, e.g. from ``from_official``) to ``directory``.

    Returns ``{file name: path}`` of what was written. ``extras`` defaults to ``model.official_extras``.
    """
    directory = Path(directory)
    if extras is None:
        extras = getattr(model, EXTRAS_ATTR, None) or {}
    arch = OfficialArchitecture.from_model(model, head_rows=head_rows_from(extras))
    kwargs = {s: arch.encoder(s).builder_kwargs() for s in STREAM_LAYOUT}
    backbones = {s: model.backbones[s] for s in STREAM_LAYOUT}
    with model.disable_adapters():  # the backbones' own (frozen) positional tables
        states = {s: {k: v.detach() for k, v in vit.state_dict().items()} for s, vit in backbones.items()}
    for s in STREAM_LAYOUT:  # the manifest must rebuild exactly these backbones
        check_state_fits(build_meta_backbone(arch.encoder(s).builder, kwargs[s]), states[s], f"the {s} backbone")

    meta = {"format": FORMAT, "mmadapt_version": _version()}
    written: dict[str, Path] = {}
    model.save_adapter(directory)
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        written[name] = directory / name
    for s in STREAM_LAYOUT:
        written[BACKBONE_FILES[s]] = write_safetensors(directory / BACKBONE_FILES[s], states[s], meta)
    if extras:
        written[EXTRAS_FILE] = write_safetensors(directory / EXTRAS_FILE, extras, meta)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mmadapt_version": _version(),
        "source": source,
        "backbones": {
            s: {"builder": arch.encoder(s).builder, "kwargs": kwargs[s], "weights": BACKBONE_FILES[s]}
            for s in STREAM_LAYOUT
        },
        "official_extras": EXTRAS_FILE if extras else None,
        "architecture": arch.to_dict(),
    }
    written[MANIFEST] = write_json(directory / MANIFEST, manifest)
    return written


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise CheckpointError(
            f"{directory} is not a converted model directory: {MANIFEST} is missing (written last by "
            "save_converted / `mmadapt convert-official`; an interrupted write leaves it out)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from err
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format {data.get('format')!r} v{data.get('format_version')}, "
            f"expected {FORMAT!r} v{FORMAT_VERSION}"
        )
    for s in STREAM_LAYOUT:
        entry = data.get("backbones", {}).get(s)
        if not isinstance(entry, dict) or not {"builder", "kwargs", "weights"} <= set(entry):
            raise CheckpointError(f"{path}: backbones.{s} needs 'builder', 'kwargs' and 'weights'")
        if not is_registered(entry["builder"]):
            raise CheckpointError(f"{path}: backbones.{s}.builder {entry['builder']!r} is not a registered backbone")
    return data


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"missing weights file {path}")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read {path}: truncated or not a safetensors file ({err})") from err


def load_converted(directory: str | PathLike[str]) -> MultimodalAdapterModel:
    """Rebuild the model saved by :func:`save_converted` (eval mode), checking every file before assembling."""
    directory = Path(directory)
    data = _read_manifest(directory)
    backbones = {}
    for s in STREAM_LAYOUT:
        entry = data["backbones"][s]
        vit = build_meta_backbone(entry["builder"], entry["kwargs"])
        assign_backbone(vit, _read_tensors(directory / entry["weights"]), str(directory / entry["weights"]))
        backbones[s] = vit
    extras = _read_tensors(directory / data["official_extras"]) if data.get("official_extras") else {}
    with torch.random.fork_rng(devices=[]):  # the adapters' random init is overwritten by the saved tensors
        model = MultimodalAdapterModel.from_pretrained(directory, backbones)
    model.eval()
    setattr(model, EXTRAS_ATTR, extras)
    return model
