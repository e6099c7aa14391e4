"""Strict, reported loading of a state dict into a backbone.

Unlike ``load_state_dict(strict=False)``, nothing is skipped silently: checkpoint keys may only be dropped
when they match an ``ignore`` pattern, model keys may only stay at their initialisation when they match a
``keep_init`` pattern, and shape mismatches are only accepted for keys that have a resampler. Anything else
raises one :class:`CheckpointError` listing every problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase

import torch
from torch import nn

from .load_report import CheckpointError, LoadReport

__all__ = ["Resampler", "load_state_into", "matches_any"]

logger = logging.getLogger(__name__)

Resampler = Callable[[torch.Tensor, torch.Size], torch.Tensor]
"""Maps a checkpoint tensor to the model's shape (given as the second argument)."""

_MAX_LISTED = 12


def matches_any(key: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(key, p) for p in patterns)


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED])
    return shown + (f", ... ({len(keys) - _MAX_LISTED} more)" if len(keys) > _MAX_LISTED else "")


def _mismatch_line(key: str, ckpt: torch.Size, model: torch.Size) -> str:
    line = f"{key}: checkpoint {tuple(ckpt)} vs model {tuple(model)}"
    conv_like = len(ckpt) == len(model) == 4
    if conv_like and ckpt[0] == model[0] and ckpt[2:] == model[2:] and ckpt[1] != model[1]:
        line += f" (checkpoint takes {ckpt[1]} input channels, model takes {model[1]})"
    return line


def load_state_into(
    model: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    *,
    source: str | None = None,
    ignore: Iterable[str] = (),
    keep_init: Iterable[str] = (),
    resamplers: Mapping[str, Resampler] | None = None,
) -> LoadReport:
    """Copy ``state_dict`` into ``model`` and report what happened; raise if it does not fit.

    ``ignore`` / ``keep_init`` are fnmatch patterns over checkpoint / model keys. A checkpoint key matching
    ``ignore`` is dropped even when the model has that key (it then must match ``keep_init``).
    """
    ignore, keep_init, resamplers = tuple(ignore), tuple(keep_init), dict(resamplers or {})
    target = model.state_dict()
    ignored = sorted(k for k in state_dict if matches_any(k, ignore))
    usable = {k: v for k, v in state_dict.items() if not matches_any(k, ignore)}

    unexpected = sorted(k for k in usable if k not in target)
    absent = [k for k in target if k not in usable]
    initialised = sorted(k for k in absent if matches_any(k, keep_init))
    missing = sorted(k for k in absent if not matches_any(k, keep_init))

    new_values: dict[str, torch.Tensor] = {}
    loaded: list[str] = []
    resampled: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    mismatched: list[str] = []
    for key in sorted(k for k in usable if k in target):
        value, want = usable[key], target[key].shape
        if value.shape == want:
            new_values[key] = value
            loaded.append(key)
        elif key in resamplers:
            fitted = resamplers[key](value, want)
            if fitted.shape != want:
                mismatched.append(_mismatch_line(key, fitted.shape, want) + " after resampling")
                continue
            new_values[key] = fitted
            resampled[key] = (tuple(value.shape), tuple(want))
        else:
            mismatched.append(_mismatch_line(key, value.shape, want))

    problems = []
    if missing:
        problems.append(f"missing from the checkpoint: {_listing(missing)}")
    if mismatched:
        problems.append("mis-shaped: " + "; ".join(mismatched[:_MAX_LISTED]))
    if unexpected:
        problems.append(f"not in the model (pass them as ignore patterns to drop): {_listing(unexpected)}")
    if problems:
        where = source or "state dict"
        raise CheckpointError(f"{where} does not fit {type(model).__name__}: " + " | ".join(problems))

    with torch.no_grad():
        result = model.load_state_dict(new_values, strict=False)
    if set(result.missing_keys) != set(initialised) or result.unexpected_keys:
        raise CheckpointError(f"internal: load_state_dict disagreed with the load plan: {result}")
    report = LoadReport(
        source=source,
        loaded=tuple(loaded),
        resampled=resampled,
        ignored=tuple(ignored),
        initialised=tuple(initialised),
    )
    logger.info("loaded %s", report.summary())
    return report
