"""`EpochLine`: one plain line per epoch -- loss, lr, validation UAR/WAR, time, clips/s -- wherever output goes.

A progress bar shows steps, only on a terminal, and erases itself when the epoch ends; this line is what a log
file, a CI job or a scrolled-back terminal keeps. Off with ``TrainConfig.epoch_lines=False`` (``mmadapt train -q``).
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any

from .base import Callback, TrainState

__all__ = ["EpochLine", "format_epoch_line"]


def _number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) and math.isfinite(value) else str(value)


def format_epoch_line(record: dict[str, Any], epochs: int, seconds: float, label: str = "") -> str:
    """``epoch 3/25  loss 1.2345  lr 9.51e-05  val UAR 0.4123 WAR 0.4567  12.3 s  45.6 clips/s`` for an epoch
    record of the loop (a partial epoch, cut by ``max_steps``, says so)."""
    parts = [
        f"{label}epoch {record['epoch']}/{epochs}",
        f"loss {_number(record.get('train_loss'), '.4f')}",
        f"lr {_number(record.get('lr'), '.3g')}",
    ]
    if "val_uar" in record:
        parts.append(f"val UAR {_number(record['val_uar'], '.4f')} WAR {_number(record.get('val_war'), '.4f')}")
    parts.append(f"{seconds:.1f} s")
    if "train_clips_per_s" in record:
        parts.append(f"{_number(record['train_clips_per_s'], '.1f')} clips/s")
    if not record.get("complete", True):
        parts.append("(partial epoch)")
    return "  ".join(parts)


class EpochLine(Callback):
    """Writes :func:`format_epoch_line` after each epoch (evaluation included in its time) on rank 0, to ``stream``
    (default: the current ``sys.stdout``). A stream, not a logger: it is the run's output, as a progress bar is."""

    main_process_only = True

    def __init__(self, stream: IO[str] | None = None, label: str = "") -> None:
        self.stream = stream
        self.label = label
        self._tick = time.perf_counter()

    def on_epoch_start(self, state: TrainState) -> None:
        self._tick = time.perf_counter()

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        line = format_epoch_line(record, state.cfg.epochs, time.perf_counter() - self._tick, self.label)
        stream = self.stream or sys.stdout  # looked up now: a caller may redirect stdout after building the loop
        stream.write(line + "\n")
        stream.flush()
