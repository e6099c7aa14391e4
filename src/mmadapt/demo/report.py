"""The demo's running commentary: one log line per epoch (train loss, validation UAR/WAR)."""

from __future__ import annotations

import logging
from typing import Any

from ..recipe.callbacks import Callback

__all__ = ["EpochReport"]

logger = logging.getLogger(__name__)


class EpochReport(Callback):
    """Logs one line per epoch of the preset being trained."""

    def __init__(self, preset: str) -> None:
        self.preset = preset

    def on_epoch_end(self, state: Any, record: dict[str, Any]) -> None:
        logger.info(
            "%s epoch %d: train loss %.3f | val UAR %.3f WAR %.3f",
            self.preset,
            record["epoch"],
            record["train_loss"],
            record.get("val_uar", float("nan")),
            record.get("val_war", float("nan")),
        )
