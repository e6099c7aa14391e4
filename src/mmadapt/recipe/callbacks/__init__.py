"""Training-loop callbacks, one per file."""

from .base import Callback, CallbackList, TrainState
from .best import BestMetric
from .epoch_line import EpochLine
from .jsonl_logger import MetricsLogger
from .progress import ProgressBar, progress_enabled
from .tensorboard import TensorBoardLogger

__all__ = [
    "BestMetric",
    "Callback",
    "CallbackList",
    "EpochLine",
    "MetricsLogger",
    "ProgressBar",
    "TensorBoardLogger",
    "TrainState",
    "progress_enabled",
]
