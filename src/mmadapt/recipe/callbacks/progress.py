"""`ProgressBar`: a tqdm bar per epoch showing loss and clips/s, only on an interactive terminal.

Bars are off when `progress=False`, when stderr is not a TTY (log files, CI) and on ranks other than 0.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from .base import Callback, TrainState

__all__ = ["ProgressBar", "progress_enabled"]


def progress_enabled(requested: bool, stream: IO[str] | None = None) -> bool:
    """True only when asked for and the stream is a terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(requested and callable(isatty) and isatty())


class ProgressBar(Callback):
    main_process_only = True

    def __init__(self, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.enabled = progress_enabled(enabled, stream)
        self.stream = stream
        self._bar: Any = None

    def on_epoch_start(self, state: TrainState) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=state.steps_per_epoch,
            desc=f"epoch {state.epoch + 1}/{state.cfg.epochs}",
            unit="step",
            leave=False,
            file=self.stream,
        )

    def on_step_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{record['loss']:.4f}", clips_s=f"{record['clips_per_s']:.1f}")

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
