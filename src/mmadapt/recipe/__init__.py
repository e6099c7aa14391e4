"""Training and evaluation engine of the MMA-DFER recipe: config, loop, callbacks, metrics,
checkpoints, DDP and the k-fold driver."""

from mmadapt.recipe.callbacks import (
    BestMetric,
    Callback,
    MetricsLogger,
    ProgressBar,
    TensorBoardLogger,
    TrainState,
)
from mmadapt.recipe.checkpoint import TrainingCheckpoint, find_latest_checkpoint, load_checkpoint, save_checkpoint
from mmadapt.recipe.config import TrainConfig, apply_overrides
from mmadapt.recipe.distributed import DistInfo, get_dist_info, init_distributed
from mmadapt.recipe.demo import DemoConfig, run_demo
from mmadapt.recipe.evaluation import evaluate
from mmadapt.recipe.experiment import ExperimentConfig, build_datasets, build_model
from mmadapt.recipe.kfold import FoldResult, KFoldResult, run_kfold
from mmadapt.recipe.loop import Trainer, TrainResult, train
from mmadapt.recipe.losses import LOSSES, get_loss, list_losses, register_loss
from mmadapt.recipe.metrics import (
    ClassificationMetrics,
    compute_metrics,
    confusion_matrix,
    save_confusion_matrix,
    uar,
    war,
)
from mmadapt.recipe.protocols import LABEL_KEY, Batch, StreamModel
from mmadapt.recipe.rng import seed_everything

__all__ = [
    "Batch",
    "BestMetric",
    "Callback",
    "ClassificationMetrics",
    "DemoConfig",
    "DistInfo",
    "ExperimentConfig",
    "FoldResult",
    "KFoldResult",
    "LABEL_KEY",
    "LOSSES",
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
