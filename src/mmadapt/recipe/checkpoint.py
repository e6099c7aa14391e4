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
* `config`: `TrainConfig.to_dict()` of the run that wrote it (informational).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mmadapt._io import write_torch

__all__ = [
    "CHECKPOINT_FORMAT",
    "TrainingCheckpoint",
    "checkpoint_dir",
    "find_latest_checkpoint",
    "load_checkpoint",
    "prune_checkpoints",
    "resolve_resume",
    "save_checkpoint",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "mmadapt.recipe.training_checkpoint/1"
_NAME = re.compile(r"^epoch_(\d+)\.pt$")


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
    """Load with `weights_only=True`; a file of another format is rejected by name."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training checkpoint {path} does not exist")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{path} is not a training checkpoint of format {CHECKPOINT_FORMAT!r} (found {found!r})")
    missing = [
        key for key in ("adapter", "optimizer", "scheduler", "epoch", "global_step", "rng") if key not in payload
    ]
    if missing:
        raise ValueError(f"{path}: training checkpoint lacks {missing}")
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
    )


def _epoch_files(out_dir: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    folder = checkpoint_dir(out_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def find_latest_checkpoint(out_dir: str | os.PathLike[str]) -> Path | None:
    """The checkpoint with the highest epoch in `out_dir/checkpoints`, or None."""
    files = _epoch_files(out_dir)
    return files[-1][1] if files else None


def prune_checkpoints(out_dir: str | os.PathLike[str], keep: int) -> list[Path]:
    """Delete all but the newest `keep` checkpoints; returns the deleted paths."""
    files = _epoch_files(out_dir)
    doomed = [path for _, path in files[: max(len(files) - keep, 0)]]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def resolve_resume(resume: str | None, out_dir: str | os.PathLike[str]) -> Path | None:
    """`None` -> no resume; `'auto'` -> newest checkpoint in out_dir (None when there is none yet,
    so the same command starts or continues a run); anything else -> that file, which must exist."""
    if resume is None:
        return None
    if resume == "auto":
        latest = find_latest_checkpoint(out_dir)
        if latest is None:
            logger.info("resume='auto': no checkpoint in %s, starting from scratch", checkpoint_dir(out_dir))
        return latest
    path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {path} does not exist")
    return path
