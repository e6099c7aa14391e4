"""Reading a local checkpoint file into a flat ``{key: tensor}`` state dict, safely.

``.safetensors`` files are read with safetensors; anything else with ``torch.load(weights_only=True)``,
which refuses pickled objects that would run arbitrary code. Training checkpoints often wrap the weights
(``{"model": sd}``, ``{"state_dict": sd}``) and DataParallel prefixes every key with ``module.``; both are
undone here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from .._torch_load import safe_torch_load
from .load_report import CheckpointError

__all__ = ["read_state_dict"]

logger = logging.getLogger(__name__)

CONTAINER_KEYS = ("model", "state_dict", "module")
"""Top-level keys under which training scripts commonly store the weights, in order of preference."""
PARALLEL_PREFIX = "module."


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read safetensors checkpoint {path} (truncated or corrupt?): {err}") from err


def _read_torch(path: Path) -> object:
    return safe_torch_load(path, "checkpoint")


def _is_tensor_mapping(obj: object) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    if _is_tensor_mapping(obj):
        return dict(obj)  # type: ignore[arg-type]
    if isinstance(obj, Mapping):
        for key in CONTAINER_KEYS:
            if _is_tensor_mapping(obj.get(key)):
                logger.debug("using the %r entry of %s", key, path)
                return dict(obj[key])
        raise CheckpointError(
            f"no state dict found in {path}: expected a mapping of tensors, or one under any of "
            f"{list(CONTAINER_KEYS)}; top-level keys are {sorted(map(str, obj))[:20]}"
        )
    raise CheckpointError(f"no state dict found in {path}: the file holds a {type(obj).__name__}")


def _strip_parallel_prefix(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if all(k.startswith(PARALLEL_PREFIX) for k in state_dict):
        return {k[len(PARALLEL_PREFIX) :]: v for k, v in state_dict.items()}
    return state_dict


def read_state_dict(path: str | PathLike[str]) -> dict[str, torch.Tensor]:
    """Load the flat state dict stored in the local file ``path`` (CPU tensors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    raw = _read_safetensors(path) if path.suffix == ".safetensors" else _read_torch(path)
    return _strip_parallel_prefix(_unwrap(raw, path))
