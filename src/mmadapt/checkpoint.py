"""Adapter-only checkpoints: ``adapter_config.json`` + ``adapter_model.safetensors``.

Format 2 records the streams by name (their order and which run per frame), every adapter's kind under ``type``
and the backbone each stream was saved with. Format-1 files (two fixed streams, no kind names, attribute-named
tensors such as ``audio_prompts.*``) are read through :func:`migrate_v1`.

Nothing is unpickled; loading is strict and checks everything before touching the model, so a mismatched adapter
leaves the model unchanged. This module knows nothing of the model class (the model imports it, never the reverse).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from ._io import atomic_write, write_json
from .anatomy import BackboneIdentity
from .config import MultimodalConfig
from .errors import AdapterMismatchError, CheckpointError
from .streams import LEGACY_FRAMES, LEGACY_STREAMS, StreamInfo

__all__ = [
    "CONFIG_NAME",
    "FORMAT_VERSION",
    "WEIGHTS_NAME",
    "SavedAdapter",
    "check_adapter_state",
    "check_backbones",
    "check_same_config",
    "migrate_v1",
    "read_adapter",
    "read_adapter_config",
    "read_adapter_weights",
    "save_adapter",
]

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
FORMAT_VERSION = 2
_IGNORED_CONFIG_KEYS = ("grad_checkpointing", "preset")
"""Config entries that may differ between a saved adapter and the model it loads into."""


class AdapterOwner(Protocol):
    """What :func:`save_adapter` reads from a model."""

    config: MultimodalConfig
    streams: dict[str, StreamInfo]

    def adapter_state_dict(self) -> dict[str, torch.Tensor]: ...

    def backbone_identity(self) -> dict[str, dict[str, Any]]: ...


@dataclass
class SavedAdapter:
    """A saved adapter as format 2 describes it (format-1 files migrated)."""

    config: MultimodalConfig
    streams: list[str]
    """Stream names in the model's order."""
    frames: set[str]
    """The per-frame streams."""
    backbones: dict[str, dict[str, Any]]
    state: dict[str, torch.Tensor]
    format_version: int


def _version() -> str:
    from ._version import __version__

    return __version__


def save_adapter(model: AdapterOwner, directory: str | Path) -> Path:
    """Write the adapter of ``model`` into ``directory`` (created if needed); returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage: give it private contiguous copies on the CPU
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.adapter_state_dict().items()}
    meta = {"format": "mmadapt-adapter", "format_version": str(FORMAT_VERSION), "mmadapt_version": _version()}
    blob = safetensors_bytes(tensors, metadata=meta)
    atomic_write(directory / WEIGHTS_NAME, lambda handle: handle.write(blob))
    config = {
        "format_version": FORMAT_VERSION,
        "mmadapt_version": _version(),
        "preset": model.config.preset,
        "streams": [{"name": s, "per_frame": info.per_frame} for s, info in model.streams.items()],
        "config": model.config.to_dict(),
        "backbones": model.backbone_identity(),
        "num_tensors": len(tensors),
        "num_parameters": sum(t.numel() for t in tensors.values()),
    }
    write_json(directory / CONFIG_NAME, config)
    return directory


def read_adapter_config(directory: str | Path) -> dict[str, Any]:
    """The raw ``adapter_config.json`` (any format version)."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"no adapter config at {path} (expected {CONFIG_NAME} written by save_adapter)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds {type(data).__name__}, not an adapter config object")
    for key in ("config", "backbones"):
        if key not in data:
            raise CheckpointError(f"{path} has no {key!r} entry; is it an mmadapt adapter config?")
    version = data.get("format_version", 1)
    if version not in (1, FORMAT_VERSION):
        raise CheckpointError(
            f"{path} has adapter format {version!r}; this mmadapt ({_version()}) reads formats 1 and {FORMAT_VERSION}"
        )
    return data


def read_adapter_weights(directory: str | Path) -> dict[str, torch.Tensor]:
    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise CheckpointError(f"no adapter weights at {path} (expected {WEIGHTS_NAME} written by save_adapter)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"cannot read {path}: it is truncated or not a safetensors file ({e})") from e


def read_adapter(directory: str | Path) -> SavedAdapter:
    """Config and weights of a saved adapter, in format 2 whatever the file's format."""
    data = read_adapter_config(directory)
    state = read_adapter_weights(directory)
    if data.get("format_version", 1) == 1:
        data, state = migrate_v1(data, state)
    try:
        streams = [str(s["name"]) for s in data["streams"]]
        frames = {str(s["name"]) for s in data["streams"] if s["per_frame"]}
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{Path(directory) / CONFIG_NAME}: malformed 'streams' entry ({e})") from None
    config = MultimodalConfig.from_dict(data["config"])
    return SavedAdapter(config, streams, frames, data["backbones"], state, int(data.get("format_version", 1)))


# ---- format 1 ---------------------------------------------------------------------------------------------
_V1_PROMPTS = re.compile(r"(?P<stream>audio|video)_prompts\.(?P<rest>.+)")
_V1_FUSION = re.compile(r"fusion\.(?P<k>\d+)\.(?P<stream>audio|video)_(?P<part>down|up|gate)(?P<rest>.*)")
_V1_JOINT = re.compile(r"head\.joint\.audio_proj\.(?P<rest>.+)")
_V1_POS = re.compile(r"pos_embeds\.(?P<stream>audio|video)_(?P<slot>.+)")


def _v1_key(key: str) -> str:
    """A format-1 tensor name in format 2 (attribute-named streams -> dicts keyed by stream)."""
    if m := _V1_PROMPTS.fullmatch(key):
        return f"prompts.{m['stream']}.{m['rest']}"
    if m := _V1_FUSION.fullmatch(key):
        return f"fusion.{m['k']}.{m['part']}.{m['stream']}{m['rest']}"
    if m := _V1_JOINT.fullmatch(key):
        return f"head.joint.proj_in.audio.{m['rest']}"
    if m := _V1_POS.fullmatch(key):
        return f"pos_embeds.{m['stream']}.{m['slot']}"
    return key


def migrate_v1(data: dict[str, Any], state: dict[str, torch.Tensor]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Format-1 config and tensors as format 2: the fixed (audio, video) streams, default kinds, dict keys."""
    data = dict(data)
    data["streams"] = [{"name": s, "per_frame": s in LEGACY_FRAMES} for s in LEGACY_STREAMS]
    data["format_version"] = FORMAT_VERSION
    return data, {_v1_key(k): v for k, v in state.items()}


# ---- checks -----------------------------------------------------------------------------------------------
def check_backbones(saved: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], where: str) -> None:
    """Raise if the backbones a saved adapter was made for differ from the ones at hand (per stream)."""
    problems = []
    for stream in sorted(set(saved) | set(actual)):
        if stream not in saved:
            problems.append(f"{stream}: no backbone recorded for this stream")
            continue
        if stream not in actual:
            problems.append(f"{stream}: the adapter has this stream, the model does not")
            continue
        want, have = BackboneIdentity.from_dict(saved[stream]), BackboneIdentity.from_dict(actual[stream])
        for field_name in (f.name for f in fields(want)):
            if field_name == "cls":
                continue  # the family decides compatibility; a subclass of the same family is fine
            w, h = getattr(want, field_name), getattr(have, field_name)
            if w != h:
                problems.append(f"{stream} {field_name}: adapter has {w}, backbone has {h}")
    if problems:
        raise AdapterMismatchError(f"the adapter in {where} does not fit these backbones: " + "; ".join(problems))


def check_same_config(saved: MultimodalConfig, current: MultimodalConfig, where: str) -> None:
    """Raise naming the entries in which a saved adapter's config differs from the model's."""
    a, b = saved.to_dict(), current.to_dict()
    diffs = [k for k in a if k not in _IGNORED_CONFIG_KEYS and a[k] != b.get(k)]
    if diffs:
        raise AdapterMismatchError(
            f"the adapter in {where} was saved with a different config for {diffs}: "
            + "; ".join(f"{k}: saved {a[k]}, model {b.get(k)}" for k in diffs)
        )


def check_adapter_state(
    params: dict[str, nn.Parameter], state: dict[str, torch.Tensor], strict: bool = True, where: str = "state dict"
) -> None:
    """Raise ``AdapterMismatchError`` naming missing/unexpected keys and shape mismatches."""
    missing = sorted(set(params) - set(state))
    unexpected = sorted(set(state) - set(params))
    shapes = [
        f"{k}: adapter has {tuple(state[k].shape)}, model has {tuple(params[k].shape)}"
        for k in sorted(set(params) & set(state))
        if tuple(state[k].shape) != tuple(params[k].shape)
    ]
    problems = []
    if strict and missing:
        problems.append(f"missing keys {_short(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys {_short(unexpected)}")
    if shapes:
        problems.append("shape mismatch " + "; ".join(shapes))
    if problems:
        raise AdapterMismatchError(f"cannot load {where}: " + "; ".join(problems))


def _short(keys: list[str], most: int = 8) -> list[str]:
    return keys if len(keys) <= most else [*keys[:most], f"... ({len(keys) - most} more)"]
