"""Resuming with settings that differ from the checkpoint's: apply what can be honoured, refuse the rest.

A checkpoint carries the `TrainConfig` of the run that wrote it. A resumed run compares its own with it, key by key:

* changes that only say where or how fast to run (device, workers, logging, compile, ...) are taken as they are;
* `epochs`, `lr`, `min_lr` and `weight_decay` are applied: the cosine schedule is re-planned as if the run had
  been started with the new values, so the next epoch trains at the rate a fresh run with them would have there
  (the optimizer state would otherwise restore the old rate and the old `T_max`); each is logged;
* anything else that changes the training math (batch size, accumulation, seed, loss, shuffling, betas, ...) is
  refused with the list of differences, because the resumed run could no longer be told from a different run.

Keys are refused unless listed here, so a field added to `TrainConfig` later is refused until someone decides.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import CosineAnnealingLR

from ..errors import ConfigError
from .config import TrainConfig

__all__ = ["APPLIED", "FREE", "ResumePlan", "apply_resume_plan", "plan_resume"]

logger = logging.getLogger(__name__)

FREE = frozenset(
    {
        "device",
        "amp",
        "backbone_dtype",
        "compile",
        "compile_fusion",
        "grad_checkpointing",
        "num_workers",
        "find_unused_parameters",
        "eval_every",
        "eval_batch_size",
        "out_dir",
        "log_every",
        "progress",
        "epoch_lines",
        "tensorboard",
        "keep_checkpoints",
        "resume",
        "overwrite",
        "max_steps",
        "max_nonfinite_steps",
        "check_finite",
        "mmadapt_version",
    }
)
"""Keys that do not change what is computed per step (or change only its precision/speed): taken as given."""
APPLIED = frozenset({"epochs", "lr", "min_lr", "weight_decay"})
"""Keys a resumed run honours by re-planning the schedule (:func:`apply_resume_plan`)."""


@dataclass(frozen=True)
class ResumePlan:
    """The differences between a checkpoint's config and the requested one, ``{key: (old, new)}``."""

    applied: dict[str, tuple[Any, Any]]

    @property
    def reschedules(self) -> bool:
        return bool(self.applied.keys() & {"epochs", "lr", "min_lr"})

    def describe(self) -> str:
        return ", ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in sorted(self.applied.items()))


def plan_resume(saved: Mapping[str, Any], cfg: TrainConfig, epochs_done: int, where: str) -> ResumePlan:
    """Compare `saved` (a checkpoint's ``config``) with `cfg`; raise a `ConfigError` listing every change that
    cannot be honoured. Keys the checkpoint lacks (older mmadapt) are not compared."""
    requested = cfg.to_dict()
    changed = {
        key: (saved[key], requested[key])
        for key in requested
        if key in saved and key not in FREE and _differs(saved[key], requested[key])
    }
    refused = {key: change for key, change in changed.items() if key not in APPLIED}
    if refused:
        listing = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in sorted(refused.items()))
        raise ConfigError(
            f"cannot resume {where} with changed {listing} (the run would no longer match its first epochs); "
            f"keep the checkpoint's values or start a new run (--overwrite or another --out). Changes allowed on "
            f"resume: {', '.join(sorted(APPLIED))}"
        )
    if cfg.epochs < epochs_done:
        raise ConfigError(
            f"cannot resume {where}: epochs={cfg.epochs} but the checkpoint has already completed "
            f"{epochs_done} epochs; pass train.epochs={epochs_done} or more to continue it, "
            "or --overwrite to start over"
        )
    return ResumePlan(applied=changed)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return list(old) != list(new)
    return bool(old != new)


def apply_resume_plan(plan: ResumePlan, cfg: TrainConfig, optimizer: Optimizer, scheduler: CosineAnnealingLR) -> None:
    """Put the restored optimizer and scheduler on the schedule a fresh run with `cfg` would follow.

    The rate of the next epoch e is then ``min_lr + (lr - min_lr) * (1 + cos(pi * e / epochs)) / 2``; the
    scheduler's own recursive step continues that curve exactly. Untouched when nothing changed, so an unchanged
    resume stays bit-identical to an unbroken run."""
    if not plan.applied:
        return
    if plan.reschedules:
        epoch = scheduler.last_epoch
        rate = cfg.min_lr + (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * epoch / cfg.epochs)) / 2
        scheduler.T_max, scheduler.eta_min = cfg.epochs, cfg.min_lr
        scheduler.base_lrs = [cfg.lr for _ in optimizer.param_groups]
        for group in optimizer.param_groups:
            group["initial_lr"], group["lr"] = cfg.lr, rate
        scheduler._last_lr = [rate for _ in optimizer.param_groups]  # what get_last_lr() reports until the next step
    if "weight_decay" in plan.applied:
        for group in optimizer.param_groups:
            group["weight_decay"] = cfg.weight_decay
    logger.warning("resuming with changed settings (applied): %s", plan.describe())
