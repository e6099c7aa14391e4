"""Reading an official MMA-DFER checkpoint into a flat ``{official key: tensor}`` dict, without running its code.

The official ``main.py`` saves ``{"epoch", "state_dict", "best_acc", "optimizer", "recorder"}`` where
``state_dict`` comes from a ``DataParallel`` model (every key starts with ``module.``) and ``recorder`` is an
instance of the script's own ``RecorderMeter`` class holding two numpy arrays. ``torch.load(weights_only=True)``
refuses such a file. Rather than unpickling it for real, the few globals that training-script bookkeeping needs
are mapped to :class:`_Inert`, a placeholder that accepts and discards any arguments and state: nothing from
the file is executed, and any other global is still refused by torch's restricted unpickler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from ...._torch_load import safe_torch_load
from ....errors import CheckpointError

__all__ = ["INERT_GLOBALS", "OfficialSource", "read_official"]

logger = logging.getLogger(__name__)

PARALLEL_PREFIX = "module."
"""Prefix ``torch.nn.DataParallel`` puts on every key of the model it wraps."""
WEIGHTS_ENTRY = "state_dict"
"""Top-level entry of the official training checkpoint that holds the model weights."""

INERT_GLOBALS: tuple[str, ...] = (
    "__main__.RecorderMeter",  # main.py's accuracy/loss history
    "numpy.core.multiarray._reconstruct",  # the recorder's arrays (numpy 1.x names)
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct",  # numpy 2.x names
    "numpy._core.multiarray.scalar",
    "numpy.ndarray",
    "numpy.dtype",
)
"""Globals of training bookkeeping that are read as inert placeholders (their content is discarded)."""


class _Inert:
    """Stand-in for a bookkeeping object of the training script: takes any arguments and state, keeps nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __new__(cls, *args: Any, **kwargs: Any) -> _Inert:
        return super().__new__(cls)

    def __setstate__(self, state: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "<discarded training-script object>"


@dataclass(frozen=True)
class OfficialSource:
    """Where the weights came from and what was set aside while reading them."""

    description: str
    """The file path, or ``"<state dict>"`` for an in-memory mapping."""
    from_file: bool
    """Whether the tensors were freshly read (so the model may take them over without a copy)."""
    stripped_prefix: bool
    """Whether the ``module.`` prefix of ``DataParallel`` was removed."""
    other_entries: tuple[str, ...] = ()
    """Top-level entries beside the weights (epoch, optimizer, recorder...), not used."""


def _torch_load(path: Path) -> Any:
    inert = [(_Inert, name) for name in INERT_GLOBALS]
    return safe_torch_load(
        path,
        "official checkpoint",
        safe_globals=inert,
        accepted="tensors, plain containers and the official training script's bookkeeping",
    )


def _read_file(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError) as err:
            raise CheckpointError(f"cannot read {path}: truncated or not a safetensors file ({err})") from err
    return _torch_load(path)


def _is_tensor_mapping(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def _unwrap(obj: Any, where: str) -> tuple[dict[str, torch.Tensor], tuple[str, ...]]:
    """The weights mapping, either ``obj`` itself or its ``state_dict`` entry, and the names of other entries."""
    if _is_tensor_mapping(obj):
        return dict(obj), ()
    if isinstance(obj, Mapping) and _is_tensor_mapping(obj.get(WEIGHTS_ENTRY)):
        others = tuple(sorted(str(k) for k in obj if k != WEIGHTS_ENTRY))
        return dict(obj[WEIGHTS_ENTRY]), others
    if isinstance(obj, Mapping):
        bad = sorted(str(k) for k, v in obj.items() if not isinstance(v, torch.Tensor))[:8]
        raise CheckpointError(
            f"no state dict in {where}: expected a mapping of tensors or one under {WEIGHTS_ENTRY!r}; top-level "
            f"entries are {sorted(map(str, obj))[:12]} (non-tensor entries: {bad})"
        )
    raise CheckpointError(f"no state dict in {where}: it holds a {type(obj).__name__}, not a mapping of tensors")


def read_official(source: str | PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], OfficialSource]:
    """Flat ``{key: tensor}`` without the ``module.`` prefix, from a file or an in-memory mapping.

    Accepted: ``{"state_dict": {"module.<key>": tensor, ...}, ...}`` as ``main.py`` writes it, or a bare state
    dict with or without the prefix; ``.pth``/``.pt`` (restricted unpickling) or ``.safetensors`` files.
    """
    from_file = not isinstance(source, Mapping)
    where = str(source) if from_file else "<state dict>"
    raw = _read_file(Path(source)) if from_file else source  # type: ignore[arg-type]
    weights, others = _unwrap(raw, where)
    non_str = [k for k in weights if not isinstance(k, str)]
    if non_str:
        raise CheckpointError(f"{where}: state dict keys must be strings, got {non_str[:5]}")
    prefixed = [k.startswith(PARALLEL_PREFIX) for k in weights]
    if any(prefixed) and not all(prefixed):
        mixed = [k for k, p in zip(weights, prefixed) if not p][:5]
        raise CheckpointError(f"{where}: some keys carry the {PARALLEL_PREFIX!r} prefix and some do not, e.g. {mixed}")
    stripped = all(prefixed)
    if stripped:
        weights = {k[len(PARALLEL_PREFIX) :]: v for k, v in weights.items()}
    if others:
        logger.info("%s: not using the entries %s", where, list(others))
    return weights, OfficialSource(where, from_file, stripped, others)
