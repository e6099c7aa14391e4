"""`MetricsLogger`: one JSON line per event in `out_dir/metrics.jsonl` (train_step, epoch).

An append-only log cannot be renamed into place like other outputs, so each line is appended and
flushed on its own; the logger's state is the file size at the last checkpoint and a resumed run
truncates back to it, dropping lines a crashed run wrote after that checkpoint (no duplicates).
Non-finite numbers are written as the strings "nan", "inf", "-inf" (:func:`mmadapt._io.to_jsonable`), never as
``null``, so a diverged loss is visible in the log and each line stays strict JSON.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path
from typing import Any

from ..._io import to_jsonable
from .base import Callback, TrainState

__all__ = ["MetricsLogger"]


class MetricsLogger(Callback):
    """Writes `on_log` (train_step) and `on_epoch_end` (epoch) records, with a wall-clock `time`."""

    main_process_only = True

    def __init__(self, filename: str = "metrics.jsonl") -> None:
        self.filename = filename
        self.path: Path | None = None
        self._resume_offset: int | None = None

    def on_train_start(self, state: TrainState) -> None:
        self.path = state.out_dir / self.filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._resume_offset is None:
            self.path.write_bytes(b"")  # a fresh run starts a fresh log
        else:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size < self._resume_offset:
                warnings.warn(
                    f"{self.path} is shorter ({size} bytes) than at the checkpoint ({self._resume_offset}); "
                    "earlier lines are missing",
                    stacklevel=2,
                )
            with open(self.path, "ab") as handle:
                handle.truncate(min(size, self._resume_offset))

    def on_log(self, state: TrainState, record: dict[str, Any]) -> None:
        self._write(record)

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            raise RuntimeError("MetricsLogger used before on_train_start")
        line = json.dumps(to_jsonable({**record, "time": time.time()}), allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()

    def state_dict(self) -> dict[str, Any]:
        size = os.path.getsize(self.path) if self.path is not None and self.path.exists() else 0
        return {"offset": size}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume_offset = int(state_dict["offset"])
