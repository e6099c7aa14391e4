"""Training-loop callbacks, one per file."""

from mmadapt.recipe.callbacks.base import Callback, CallbackList, TrainState
from mmadapt.recipe.callbacks.best import BestMetric
from mmadapt.recipe.callbacks.epoch_line import EpochLine
from mmadapt.recipe.callbacks.jsonl_logger import MetricsLogger
from mmadapt.recipe.callbacks.progress import ProgressBar, progress_enabled
from mmadapt.recipe.callbacks.tensorboard import TensorBoardLogger

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
