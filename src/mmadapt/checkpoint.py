"""Adapter-only checkpoints: ``adapter_config.json`` + ``adapter_model.safetensors``.

Format 2 records the streams by name (their order and which run per frame), every adapter's kind under ``type``
and the backbone each stream was saved with. Format-1 files (two fixed streams, no kind names, attribute-named
tensors such as ``audio_prompts.*``) are read through :func:`migrate_v1`.

Nothing is unpickled; loading is strict and checks everything before touching the model, so a mismatched adapter
leaves the model unchanged: the format version of both files, keys, shapes, dtypes (a floating parameter takes only
a floating tensor, never a silent cast) and, by default, that every tensor is finite. ``save_adapter`` refuses
non-finite tensors, so no NaN adapter is ever written.

Saving replaces both files as one unit (:func:`mmadapt._io.replace_unit`): a save that fails or is killed at any
moment leaves the folder loading as the previous adapter or the new one, never a mix; other files in the folder
are left alone. This module knows nothing of the model class (the model imports it, never the reverse).
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

from ._adapter_files import CONFIG_NAME, WEIGHTS_NAME
from ._io import atomic_write, read_user_text, replace_unit, to_jsonable, unit_file, write_json, write_text
from .anatomy import BackboneIdentity
from .config import MultimodalConfig
from .errors import AdapterMismatchError, CheckpointError
from .model_card import MODEL_CARD_NAME, may_write_card, render_model_card
from .streams import LEGACY_FRAMES, LEGACY_STREAMS, StreamInfo

__all__ = [
    "CONFIG_NAME",
    "FORMAT_VERSION",
    "SUPPORTED_FORMAT_VERSIONS",
    "WEIGHTS_NAME",
    "SavedAdapter",
    "check_adapter_state",
    "check_backbones",
    "check_finite",
    "check_same_config",
    "migrate_v1",
    "read_adapter",
    "read_adapter_config",
    "read_adapter_weights",
    "save_adapter",
]

FORMAT_VERSION = 2
SUPPORTED_FORMAT_VERSIONS = (1, 2)
"""The adapter formats this mmadapt reads (format 1 through :func:`migrate_v1`)."""
ADAPTER_FILES = (WEIGHTS_NAME, CONFIG_NAME)
"""The files an adapter is made of, in the order ``save_adapter`` writes them; they are replaced together with
the model card (:mod:`mmadapt.model_card`, ``README.md``) where that is mmadapt's own."""
_IGNORED_CONFIG_KEYS = ("grad_checkpointing", "preset")
"""Config entries that may differ between a saved adapter and the model it loads into."""

logger = logging.getLogger(__name__)


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
    """Write the adapter of ``model`` into ``directory`` (created if needed); returns the directory.

    Both files are replaced as one unit (see :func:`mmadapt._io.replace_unit`); files of other names in
    ``directory`` are kept. Non-finite tensors are refused before anything is written.
    """
    directory = Path(directory)
    # safetensors refuses shared or non-contiguous storage: give it private contiguous copies on the CPU
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.adapter_state_dict().items()}
    bad = _non_finite(tensors)
    if bad:
        raise CheckpointError(
            f"refusing to save the adapter to {directory}: {_describe_non_finite(bad)}; nothing was written "
            "(a previous adapter there is kept)"
        )
    meta = {"format": "mmadapt-adapter", "format_version": str(FORMAT_VERSION), "mmadapt_version": _version()}
    blob = safetensors_bytes(tensors, metadata=meta)
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
    # the lambdas look the writers up when called, so a test (or a wrapper) that replaces them is honoured
    writers = {
        WEIGHTS_NAME: lambda path: atomic_write(path, lambda handle: handle.write(blob)),
        CONFIG_NAME: lambda path: write_json(path, config),
    }
    if may_write_card(directory):  # a README.md a person wrote is kept
        writers[MODEL_CARD_NAME] = lambda path: write_text(path, render_model_card(to_jsonable(config)))
    else:
        logger.info("%s: keeping the README.md there (not written by mmadapt)", directory)
    return replace_unit(directory, writers)


def _file(directory: str | Path, name: str) -> Path:
    """The newest committed ``name`` of the adapter in ``directory`` (inside an interrupted save's pending folder
    while it holds that file, see :func:`mmadapt._io.unit_file`)."""
    path = unit_file(directory, name)
    if path.parent != Path(directory):
        logger.warning(
            "%s: a save was interrupted after its commit; loading the adapter it committed (the next save_adapter "
            "into this folder finishes moving it into place)",
            directory,
        )
    return path


def _check_format_version(version: Any, where: str | Path) -> int:
    """``version`` as an int if this mmadapt reads it; a clear error naming it otherwise (bools and floats too)."""
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_FORMAT_VERSIONS:
        raise CheckpointError(
            f"{where} has an unknown adapter format_version {version!r} "
            f"(supported: {', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}; this is mmadapt {_version()})"
        )
    return version


def read_adapter_config(directory: str | Path) -> dict[str, Any]:
    """The raw ``adapter_config.json`` (any supported format version, checked)."""
    path = _file(directory, CONFIG_NAME)
    if not path.is_file():
        raise CheckpointError(f"no adapter config at {path} (expected {CONFIG_NAME} written by save_adapter)")
    text = read_user_text(path, "adapter config", error=lambda where, problem: CheckpointError(f"{where}: {problem}"))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    except RecursionError:
        raise CheckpointError(f"{path}: JSON nested too deeply to be an adapter config") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds {type(data).__name__}, not an adapter config object")
    for key in ("config", "backbones", "format_version"):
        if key not in data:
            raise CheckpointError(f"{path} has no {key!r} entry; is it an mmadapt adapter config?")
    _check_format_version(data["format_version"], path)
    for key in ("config", "backbones"):
        if not isinstance(data[key], dict):
            raise CheckpointError(f"{path}: {key!r} must be a JSON object, got {type(data[key]).__name__}")
    if not all(isinstance(entry, dict) for entry in data["backbones"].values()):
        raise CheckpointError(f"{path}: every 'backbones' entry must be a JSON object (stream name -> identity)")
    return data


def read_adapter_weights(directory: str | Path, format_version: int | None = None) -> dict[str, torch.Tensor]:
    """The adapter tensors; the format version stamped in the file's metadata (when there is one) is checked, and
    must equal ``format_version`` (the config's) when that is given."""
    path = _file(directory, WEIGHTS_NAME)
    if not path.is_file():
        raise CheckpointError(f"no adapter weights at {path} (expected {WEIGHTS_NAME} written by save_adapter)")
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"cannot read {path}: it is truncated or not a safetensors file ({e})") from e
    if "format_version" in meta:  # files written by hand (save_file without metadata) carry none
        stamp = meta["format_version"]
        known = {str(v): v for v in SUPPORTED_FORMAT_VERSIONS}
        version = known[stamp] if stamp in known else _check_format_version(stamp, path)
        if format_version is not None and version != format_version:
            raise CheckpointError(
                f"{path}: the weights are format {version}, the config beside them format {format_version}; "
                "the two files come from different saves"
            )
    return state


def _read_streams(entries: Any, where: Path) -> tuple[list[str], set[str]]:
    """``streams`` of a format-2 config: a list of ``{"name": str, "per_frame": bool}``, typed strictly (a string
    ``"false"`` is not a boolean, a number is not a name)."""
    if not isinstance(entries, list) or not entries:
        raise CheckpointError(f"{where}: 'streams' must be a non-empty list of objects, got {entries!r:.60}")
    streams: list[str] = []
    frames: set[str] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"name", "per_frame"}:
            raise CheckpointError(
                f"{where}: streams[{i}] must be an object with 'name' and 'per_frame', got {entry!r:.60}"
            )
        name, per_frame = entry["name"], entry["per_frame"]
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{where}: streams[{i}].name must be a non-empty string, got {name!r:.60}")
        if not isinstance(per_frame, bool):
            raise CheckpointError(f"{where}: streams[{i}].per_frame must be true or false, got {per_frame!r:.60}")
        if name in streams:
            raise CheckpointError(f"{where}: stream {name!r} is listed twice")
        streams.append(name)
        if per_frame:
            frames.add(name)
    return streams, frames


def read_adapter(directory: str | Path, strict_finite: bool = True) -> SavedAdapter:
    """Config and weights of a saved adapter, in format 2 whatever the file's format.

    Non-finite tensors raise with ``strict_finite`` (the default) and only warn without it.
    """
    data = read_adapter_config(directory)
    version = data["format_version"]
    state = read_adapter_weights(directory, version)
    check_finite(state, str(Path(directory) / WEIGHTS_NAME), strict=strict_finite)
    if version == 1:
        data, state = migrate_v1(data, state)
    streams, frames = _read_streams(data.get("streams"), Path(directory) / CONFIG_NAME)
    config = MultimodalConfig.from_dict(data["config"])
    return SavedAdapter(config, streams, frames, data["backbones"], state, version)


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
    """Raise ``AdapterMismatchError`` naming missing/unexpected keys and shape mismatches, then ``CheckpointError``
    naming tensors whose dtype their parameter cannot take (an int or bool tensor for a float parameter: no cast)."""
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
    dtypes = [
        f"{k}: adapter has {_dtype_name(state[k].dtype)}, model has {_dtype_name(params[k].dtype)}"
        for k in sorted(set(params) & set(state))
        if not _castable(state[k].dtype, params[k].dtype)
    ]
    if dtypes:
        raise CheckpointError(
            f"cannot load {where}: tensors of a dtype their parameter cannot take (no silent cast): "
            + "; ".join(dtypes)
        )


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _castable(source: torch.dtype, target: torch.dtype) -> bool:
    """Whether a tensor of ``source`` may be copied into a parameter of ``target``: floats of any precision into
    floats; nothing else (an int, bool or complex tensor in a float parameter is a broken or foreign file)."""
    if target.is_floating_point:
        return source.is_floating_point
    return source == target


def _non_finite(state: dict[str, torch.Tensor]) -> dict[str, tuple[int, int]]:
    """``{key: (non-finite count, numel)}`` of the floating tensors holding NaN or inf."""
    bad = {}
    for key, tensor in state.items():
        if tensor.is_floating_point() or tensor.is_complex():
            count = int((~torch.isfinite(tensor)).sum())
            if count:
                bad[key] = (count, tensor.numel())
    return bad


def _describe_non_finite(bad: dict[str, tuple[int, int]]) -> str:
    keys = _short([f"{k} ({n} of {total})" for k, (n, total) in sorted(bad.items())])
    return f"{len(bad)} tensors hold non-finite values (NaN/inf): " + ", ".join(keys)


def check_finite(state: dict[str, torch.Tensor], where: str, strict: bool = True) -> None:
    """Raise ``CheckpointError`` (``strict``) or warn naming the tensors that hold NaN or inf, with their counts."""
    bad = _non_finite(state)
    if not bad:
        return
    message = f"{where}: {_describe_non_finite(bad)}"
    if strict:
        raise CheckpointError(f"{message}; refusing to load them (strict_finite=False loads them with a warning)")
    warnings.warn(f"{message}; loading them because strict_finite=False", UserWarning, stacklevel=4)


def _short(keys: list[str], most: int = 8) -> list[str]:
    return keys if len(keys) <= most else [*keys[:most], f"... ({len(keys) - most} more)"]
