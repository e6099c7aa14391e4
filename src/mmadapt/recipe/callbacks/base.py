"""Event callbacks of the training loop (composer/Lightning style, much smaller).

The loop calls, in order: `on_train_start`; per epoch `on_epoch_start`, `on_step_end` after every
optimizer step (this rank's loss, for progress bars), `on_log` every `log_every` steps (losses averaged
over ranks, for files), `on_eval_end`, `on_epoch_end`; finally `on_train_end` with the run summary.
A callback with state implements `state_dict` / `load_state_dict`; it is saved in every training
checkpoint under the callback's `name`, which must therefore be unique within a run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..distributed import DistInfo

if TYPE_CHECKING:
    from ..config import TrainConfig
    from ..metrics import ClassificationMetrics

__all__ = ["Callback", "CallbackList", "TrainState"]


@dataclass
class TrainState:
    """What callbacks may read (and `should_stop`, which they may set to end training after this epoch)."""

    cfg: TrainConfig
    info: DistInfo
    device: torch.device
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    out_dir: Path
    steps_per_epoch: int
    epoch: int = 0  # 0-based index of the epoch being run
    global_step: int = 0  # optimizer steps taken so far
    history: list[dict[str, Any]] = field(default_factory=list)
    should_stop: bool = False


class Callback:
    """Base class: every event is a no-op; override the ones you need.

    `main_process_only = True` marks callbacks that write files or the terminal: the loop then runs
    them (and saves/loads their state) on rank 0 only.
    """

    main_process_only: bool = False

    @property
    def name(self) -> str:
        return type(self).__name__

    def on_train_start(self, state: TrainState) -> None: ...

    def on_epoch_start(self, state: TrainState) -> None: ...

    def on_step_end(self, state: TrainState, record: dict[str, Any]) -> None: ...

    def on_log(self, state: TrainState, record: dict[str, Any]) -> None: ...

    def on_eval_end(self, state: TrainState, metrics: ClassificationMetrics) -> None: ...

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None: ...

    def on_train_end(self, state: TrainState, summary: dict[str, Any]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        del state_dict


class CallbackList:
    """Dispatches events to the callbacks this rank runs, in the order given."""

    _EVENTS = (
        "on_train_start",
        "on_epoch_start",
        "on_step_end",
        "on_log",
        "on_eval_end",
        "on_epoch_end",
        "on_train_end",
    )

    def __init__(self, callbacks: Iterable[Callback], info: DistInfo) -> None:
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must subclass mmadapt.recipe.Callback, got {type(cb).__name__}")
        names = [cb.name for cb in callbacks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"callback names must be unique (they key checkpoint state): {duplicates}")
        self.callbacks = [cb for cb in callbacks if info.is_main or not cb.main_process_only]

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def fire(self, event: str, *args: Any) -> None:
        if event not in self._EVENTS:
            raise ValueError(f"unknown callback event {event!r}")
        for cb in self.callbacks:
            getattr(cb, event)(*args)

    def state_dict(self) -> dict[str, dict[str, Any]]:
        return {cb.name: cb.state_dict() for cb in self.callbacks}

    def load_state_dict(self, states: dict[str, dict[str, Any]]) -> None:
        for cb in self.callbacks:
            if cb.name in states:
                cb.load_state_dict(states[cb.name])
