"""`TensorBoardLogger`: scalars to TensorBoard, if the optional `tensorboard` package is installed."""

from __future__ import annotations

import warnings
from typing import Any

from .base import Callback, TrainState

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(Callback):
    """Logs `on_log` records by global step and epoch records by epoch, under `out_dir/<subdir>`."""

    main_process_only = True

    def __init__(self, subdir: str = "tensorboard") -> None:
        self.subdir = subdir
        self._writer: Any = None

    def on_train_start(self, state: TrainState) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            warnings.warn("tensorboard=True but the tensorboard package is missing; not logging to it", stacklevel=2)
            return
        self._writer = SummaryWriter(log_dir=str(state.out_dir / self.subdir))

    def on_log(self, state: TrainState, record: dict[str, Any]) -> None:
        if self._writer is not None:
            for key in ("loss", "lr", "clips_per_s"):
                self._writer.add_scalar(f"train/{key}", record[key], record["step"])

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if self._writer is None:
            return
        for key, value in record.items():
            if isinstance(value, (int, float)) and key not in ("epoch", "step") and not isinstance(value, bool):
                self._writer.add_scalar(f"epoch/{key}", value, record["epoch"])
        self._writer.flush()

    def on_train_end(self, state: TrainState, summary: dict[str, Any]) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
