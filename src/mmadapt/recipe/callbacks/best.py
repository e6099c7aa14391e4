"""`BestMetric`: remembers the epoch with the best validation metric.

The official protocol reports the LAST epoch; the best one is kept only for reference and is
labelled as such in the run summary (choosing it on the test set would be selection on test data).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from .base import Callback, TrainState

__all__ = ["BestMetric"]


class BestMetric(Callback):
    """Tracks `monitor` (a key of the epoch record, e.g. 'val_uar') under `mode` 'max' or 'min'."""

    def __init__(self, monitor: str = "val_uar", mode: Literal["max", "min"] = "max") -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.monitor, self.mode = monitor, mode
        self.best: dict[str, Any] | None = None

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        value = record.get(self.monitor)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if self.best is None or self._better(value, self.best[self.monitor]):
            self.best = dict(record)

    def _better(self, value: float, best: float) -> bool:
        return value > best if self.mode == "max" else value < best

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict["best"]
