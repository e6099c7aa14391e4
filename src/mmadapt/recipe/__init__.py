"""Training and evaluation engine of the MMA-DFER recipe: config, loop, callbacks, metrics,
checkpoints, DDP and the k-fold driver."""

from .callbacks import (
    BestMetric,
    Callback,
    MetricsLogger,
    ProgressBar,
    TensorBoardLogger,
    TrainState,
)
from .checkpoint import TrainingCheckpoint, find_latest_checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig, apply_overrides
from .demo import DemoConfig, run_demo
from .distributed import DistInfo, get_dist_info, init_distributed
from .evaluation import evaluate
from .experiment import ExperimentConfig, build_datasets, build_model
from .kfold import FoldResult, KFoldResult, run_kfold
from .loop import Trainer, TrainResult, train
from .losses import LOSSES, get_loss, list_losses, register_loss
from .metrics import (
    ClassificationMetrics,
    compute_metrics,
    confusion_matrix,
    save_confusion_matrix,
    uar,
    war,
)
from .protocols import LABEL_KEY, Batch, StreamModel
from .rng import seed_everything

__all__ = [
    "LABEL_KEY",
    "LOSSES",
    "Batch",
    "BestMetric",
    "Callback",
    "ClassificationMetrics",
    "DemoConfig",
    "DistInfo",
    "ExperimentConfig",
    "FoldResult",
    "KFoldResult",
    "MetricsLogger",
    "ProgressBar",
    "StreamModel",
    "TensorBoardLogger",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "Trainer",
    "TrainingCheckpoint",
    "apply_overrides",
    "build_datasets",
    "build_model",
    "compute_metrics",
    "confusion_matrix",
    "evaluate",
    "find_latest_checkpoint",
    "get_dist_info",
    "get_loss",
    "init_distributed",
    "list_losses",
    "load_checkpoint",
    "register_loss",
    "run_demo",
    "run_kfold",
    "save_checkpoint",
    "save_confusion_matrix",
    "seed_everything",
    "train",
    "uar",
    "war",
]
