"""Training checkpoints: everything needed to continue a run to the same result as an unbroken one.

A checkpoint is written after each completed epoch as `out_dir/checkpoints/epoch_XXXX.pt` and holds
only tensors and primitive containers, so it loads with `torch.load(weights_only=True)` (no pickled
code runs on load):

* `adapter`: `model.adapter_state_dict()` (trainable tensors only, never the frozen backbones);
* `optimizer`, `scheduler`: their `state_dict()`s;
* `epoch` (epochs completed), `global_step` (optimizer steps taken);
* `rng`: one `capture_rng_state()` per process (DDP ranks have their own streams);
* `callbacks`: `{name: callback.state_dict()}`;
* `history`: the loop's per-epoch records (so a resumed run's summary covers every epoch);
* `config`: `TrainConfig.to_dict()` of the run that wrote it (a resumed run compares its own with it:
  :mod:`mmadapt.recipe.resume_changes`);
* `nonfinite_steps`: steps skipped so far for a non-finite loss or gradient;
* `run_id`: the run that wrote it (:mod:`mmadapt.recipe.run_folder`); older checkpoints have none.

A file that cannot be read as such (empty, cut short, random bytes, another torch file, missing keys,
pickled objects) is a `CheckpointError` naming the file and the damage. `resume='auto'` skips damaged
files with a warning and continues from the newest intact one; an explicit path never falls back. Listing, pruning
and `resume='auto'` take `run_ids` so that only the current run's checkpoints count.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._io import write_torch
from .._torch_load import safe_torch_load
from ..errors import CheckpointError

__all__ = [
    "CHECKPOINT_FORMAT",
    "TrainingCheckpoint",
    "checkpoint_dir",
    "checkpoint_files",
    "find_latest_checkpoint",
    "find_latest_intact_checkpoint",
    "load_checkpoint",
    "prune_checkpoints",
    "read_checkpoint_run_id",
    "resolve_resume",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "mmadapt.recipe.training_checkpoint/1"
_NAME = re.compile(r"^epoch_(\d+)\.pt$")
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "adapter": dict,
    "optimizer": dict,
    "scheduler": dict,
    "epoch": int,
    "global_step": int,
    "rng": (list, tuple),
}


@dataclass
class TrainingCheckpoint:
    """The loop's resumable state. `epoch` counts completed epochs (the next one to run)."""

    adapter: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    epoch: int
    global_step: int
    rng: list[dict[str, Any]]
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    nonfinite_steps: int = 0
    """Steps skipped so far for a non-finite loss or gradient (`TrainConfig.max_nonfinite_steps` counts per run)."""

    def to_payload(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "adapter": self.adapter,
            "optimizer": self.optimizer,
            "scheduler": self.scheduler,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "rng": self.rng,
            "callbacks": self.callbacks,
            "history": self.history,
            "config": self.config,
            "run_id": self.run_id,
            "nonfinite_steps": self.nonfinite_steps,
        }


def checkpoint_dir(out_dir: str | os.PathLike[str]) -> Path:
    return Path(out_dir) / "checkpoints"


def save_checkpoint(ckpt: TrainingCheckpoint, out_dir: str | os.PathLike[str]) -> Path:
    """Atomically write `epoch_XXXX.pt` (temp name + os.replace) and return its path."""
    path = checkpoint_dir(out_dir) / f"epoch_{ckpt.epoch:04d}.pt"
    write_torch(path, ckpt.to_payload())
    logger.info("saved training checkpoint %s", path)
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> TrainingCheckpoint:
    """Load with `weights_only=True`; a damaged or foreign file is a one-line `CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        if path.is_symlink():  # damage `resume='auto'` skips like any other
            raise CheckpointError(f"training checkpoint {path} is a dangling link (to {os.readlink(path)})")
        if path.exists():
            raise CheckpointError(f"training checkpoint {path} is a folder, not a file")
        raise FileNotFoundError(f"training checkpoint {path} does not exist")
    payload = _read_payload(path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path} is not a training checkpoint of format {CHECKPOINT_FORMAT!r} (found {found!r})")
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise CheckpointError(f"{path}: training checkpoint lacks {missing}")
    wrong = [
        f"{key} is {type(payload[key]).__name__}"
        for key, kind in _REQUIRED.items()
        if not isinstance(payload[key], kind) or isinstance(payload[key], bool)
    ]
    if wrong:
        raise CheckpointError(f"{path}: training checkpoint has wrong types: {', '.join(wrong)}")
    return TrainingCheckpoint(
        adapter=payload["adapter"],
        optimizer=payload["optimizer"],
        scheduler=payload["scheduler"],
        epoch=int(payload["epoch"]),
        global_step=int(payload["global_step"]),
        rng=list(payload["rng"]),
        callbacks=dict(payload.get("callbacks", {})),
        history=list(payload.get("history", [])),
        config=dict(payload.get("config", {})),
        run_id=run_id if isinstance(run_id := payload.get("run_id"), str) else None,
        nonfinite_steps=skips if isinstance(skips := payload.get("nonfinite_steps", 0), int) else 0,
    )


def _read_payload(path: Path) -> Any:
    """`torch.load(weights_only=True)` through the shared safe loader: empty, foreign, cut and pickled-object
    files are one-line `CheckpointError`s, and torch's advice to retry with `weights_only=False` (which would run
    arbitrary code) is never passed on."""
    return safe_torch_load(path, "training checkpoint")


def checkpoint_files(out_dir: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``epoch_XXXX.pt`` in `out_dir/checkpoints`, oldest first (any run)."""
    folder = checkpoint_dir(out_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


RunIds = Container[str | None] | None
"""Which runs' checkpoints count: a set of run ids (None inside it: checkpoints without one), or None for all."""


def read_checkpoint_run_id(path: str | os.PathLike[str]) -> str | None:
    """The run id stamped in a checkpoint, without reading its tensors (memory-mapped load); None if it has none."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # damaged: the full load names the damage
        raise CheckpointError(f"training checkpoint {path} cannot be read ({type(err).__name__})") from None
    run_id = payload.get("run_id") if isinstance(payload, dict) else None
    return run_id if isinstance(run_id, str) else None


def _owned(path: Path, run_ids: RunIds) -> bool:
    if run_ids is None:
        return True
    try:
        return read_checkpoint_run_id(path) in run_ids
    except CheckpointError:
        return False  # whose it is cannot be told: never pruned, never resumed from


def find_latest_checkpoint(out_dir: str | os.PathLike[str], run_ids: RunIds = None) -> Path | None:
    """The checkpoint with the highest epoch in `out_dir/checkpoints` (of the runs `run_ids`), or None."""
    files = [path for _, path in checkpoint_files(out_dir) if _owned(path, run_ids)]
    return files[-1] if files else None


def prune_checkpoints(out_dir: str | os.PathLike[str], keep: int, run_ids: RunIds = None) -> list[Path]:
    """Delete all but the newest `keep` checkpoints (of the runs `run_ids`; others are left alone); returns the
    deleted paths."""
    files = [path for _, path in checkpoint_files(out_dir) if _owned(path, run_ids)]
    doomed = files[: max(len(files) - keep, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def find_latest_intact_checkpoint(out_dir: str | os.PathLike[str], run_ids: RunIds = None) -> Path | None:
    """The newest checkpoint (of the runs `run_ids`) that loads, warning about each newer damaged one it skips.

    None when there is no checkpoint at all; a `CheckpointError` when there are some but every one is
    damaged (starting over would silently throw away the run the caller asked to continue). Intact checkpoints of
    other runs are passed over."""
    skipped: list[CheckpointError] = []
    for _, path in reversed(checkpoint_files(out_dir)):
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as err:
            skipped.append(err)
            continue
        if run_ids is not None and ckpt.run_id not in run_ids:
            logger.info("passing over %s: it belongs to run %s", path, ckpt.run_id)
            continue
        if skipped:
            warnings.warn(
                f"skipped damaged training checkpoint(s) {', '.join(str(e) for e in skipped)}; "
                f"resuming from {path.name}",
                stacklevel=2,
            )
        return path
    if skipped:
        raise CheckpointError(
            f"no intact training checkpoint in {checkpoint_dir(out_dir)}: {'; '.join(str(e) for e in skipped)} "
            "(delete them to start the run over)"
        )
    return None


def resolve_resume(resume: str | None, out_dir: str | os.PathLike[str], run_ids: RunIds = None) -> Path | None:
    """`None` -> no resume; `'auto'` -> newest intact checkpoint of the runs `run_ids` in out_dir (None when there is
    none yet, so the same command starts or continues a run; damaged newer ones are skipped with a warning);
    anything else -> that file, which must exist (it is loaded, and refused if damaged, by the caller)."""
    if resume is None:
        return None
    if resume == "auto":
        latest = find_latest_intact_checkpoint(out_dir, run_ids)
        if latest is None:
            logger.info("resume='auto': no checkpoint in %s, starting from scratch", checkpoint_dir(out_dir))
        return latest
    path = Path(resume)
    if not path.exists() and not path.is_symlink():  # a folder or a dangling link: load_checkpoint names it
        raise FileNotFoundError(f"resume checkpoint {path} does not exist")
    return path
