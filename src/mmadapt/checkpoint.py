"""Adapter-only checkpoints: ``adapter_config.json`` + ``adapter_model.safetensors``.

Nothing is unpickled; loading is strict and checks everything before touching the model, so a mismatched
adapter leaves the model unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes
from torch import nn

from ._io import atomic_write, write_json
from .anatomy import BackboneIdentity, resolve_anatomy
from .config import MultimodalConfig
from .errors import AdapterMismatchError, CheckpointError

if TYPE_CHECKING:
    from .model import MultimodalAdapterModel

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
FORMAT_VERSION = 1


def _version() -> str:
    from . import __version__

    return __version__


def save_adapter(model: MultimodalAdapterModel, directory: str | Path) -> Path:
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
        "config": model.config.to_dict(),
        "backbones": model.backbone_identity(),
        "num_tensors": len(tensors),
        "num_parameters": sum(t.numel() for t in tensors.values()),
    }
    write_json(directory / CONFIG_NAME, config)
    return directory


def read_adapter_config(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise CheckpointError(f"no adapter config at {path} (expected {CONFIG_NAME} written by save_adapter)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from e
    for key in ("config", "backbones"):
        if key not in data:
            raise CheckpointError(f"{path} has no {key!r} entry; is it an mmadapt adapter config?")
    return data


def read_adapter_weights(directory: str | Path) -> dict[str, torch.Tensor]:
    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise CheckpointError(f"no adapter weights at {path} (expected {WEIGHTS_NAME} written by save_adapter)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"cannot read {path}: it is truncated or not a safetensors file ({e})") from e


def check_backbones(saved: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]], where: str) -> None:
    """Raise if the backbones a saved adapter was made for differ from the ones at hand."""
    problems = []
    for stream in ("audio", "video"):
        if stream not in saved:
            problems.append(f"{stream}: not recorded")
            continue
        want, have = BackboneIdentity.from_dict(saved[stream]), BackboneIdentity.from_dict(actual[stream])
        for field_name, w in want.to_dict().items():
            h = getattr(have, field_name)
            if field_name == "cls":
                continue  # the family decides compatibility; a subclass of the same family is fine
            if w != h:
                problems.append(f"{stream} {field_name}: adapter has {w}, backbone has {h}")
    if problems:
        raise AdapterMismatchError(f"the adapter in {where} does not fit these backbones: " + "; ".join(problems))


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
        problems.append(f"missing keys {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if shapes:
        problems.append("shape mismatch " + "; ".join(shapes))
    if problems:
        raise AdapterMismatchError(f"cannot load {where}: " + "; ".join(problems))


def load_adapter(model: MultimodalAdapterModel, directory: str | Path) -> None:
    """Load a saved adapter into ``model`` after checking backbones, config, keys and shapes."""
    data = read_adapter_config(directory)
    check_backbones(data["backbones"], model.backbone_identity(), str(directory))
    saved_config = MultimodalConfig.from_dict(data["config"]).to_dict()
    current = model.config.to_dict()
    diffs = [k for k in saved_config if k not in ("grad_checkpointing", "preset") and saved_config[k] != current[k]]
    if diffs:
        raise AdapterMismatchError(
            f"the adapter in {directory} was saved with a different config for {diffs}: "
            + "; ".join(f"{k}: saved {saved_config[k]}, model {current[k]}" for k in diffs)
        )
    state = read_adapter_weights(directory)
    params = dict(model.adapter_named_parameters())
    check_adapter_state(params, state, strict=True, where=str(Path(directory) / WEIGHTS_NAME))
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value)


def from_pretrained(directory: str | Path, audio_vit: nn.Module, video_vit: nn.Module) -> MultimodalAdapterModel:
    """Wrap ``audio_vit`` and ``video_vit`` with the adapter saved in ``directory``."""
    from .model import MultimodalAdapterModel

    data = read_adapter_config(directory)
    # check the backbones before building anything, so a mismatch leaves them untouched
    actual = {"audio": resolve_anatomy(audio_vit), "video": resolve_anatomy(video_vit)}
    config = MultimodalConfig.from_dict(data["config"])
    sizes = {"audio": config.audio_size, "video": config.video_size}
    identity = {}
    for s, anatomy in actual.items():
        ident = anatomy.identity().to_dict()
        ident["input_size"] = tuple(sizes[s] or anatomy.native_input_size)
        identity[s] = ident
    saved = {s: dict(v, input_size=tuple(v["input_size"]), patch_size=tuple(v["patch_size"])) for s, v in data["backbones"].items()}
    check_backbones(saved, identity, str(directory))
    state = read_adapter_weights(directory)
    model = MultimodalAdapterModel(audio_vit, video_vit, config)
    try:
        params = dict(model.adapter_named_parameters())
        check_adapter_state(params, state, strict=True, where=str(Path(directory) / WEIGHTS_NAME))
        with torch.no_grad():
            for name, value in state.items():
                params[name].copy_(value)
    except Exception:
        model.detach()  # hand the backbones back untouched
        raise
    return model
