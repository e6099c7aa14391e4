"""Cross-validation driver: DFEW and MAFW are evaluated with 5 fixed folds (paper §4.2).

For each fold a fresh model is trained on the fold's train split and the final (last-epoch) weights
are evaluated on its test split; the driver reports mean and standard deviation of UAR and WAR over
folds. The std is the sample std (ddof=1), the usual choice for "mean ± std over folds"; it is 0.0
for a single fold. The caller's factories own model construction and seeding.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from .._io import write_json
from .callbacks import Callback
from .config import TrainConfig, library_version
from .distributed import get_dist_info
from .evaluation import evaluate
from .loop import train
from .metrics import save_confusion_matrix
from .protocols import StreamModel

__all__ = ["FoldResult", "KFoldResult", "run_kfold"]

logger = logging.getLogger(__name__)


@dataclass
class FoldResult:
    """Test metrics of one fold's final weights."""

    fold: int
    uar: float
    war: float
    loss: float
    num_samples: int
    out_dir: str


@dataclass
class KFoldResult:
    folds: list[FoldResult]
    uar_mean: float
    uar_std: float
    war_mean: float
    war_std: float
    summary_path: Path | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mmadapt_version": library_version(),
            "std": "sample standard deviation over folds (ddof=1); 0.0 for one fold",
            "uar_mean": self.uar_mean,
            "uar_std": self.uar_std,
            "war_mean": self.war_mean,
            "war_std": self.war_std,
            "folds": [dataclasses.asdict(f) for f in self.folds],
        }


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def run_kfold(
    make_model: Callable[[int], StreamModel],
    make_datasets: Callable[[int], tuple[Dataset[Any], Dataset[Any]]],
    cfg: TrainConfig,
    folds: Sequence[int] = (1, 2, 3, 4, 5),
    *,
    eval_during_training: bool = False,
    class_names: Sequence[str] | None = None,
    make_callbacks: Callable[[int], Sequence[Callback]] | None = None,
) -> KFoldResult:
    """Train and test every fold; write `out_dir/kfold_summary.json`.

    `make_model(fold)` builds a fresh model and `make_datasets(fold)` returns `(train_set, test_set)`, whose
    items are `{stream: tensor, ..., "label": int}` for the model's streams.
    Fold k writes to `out_dir/fold_<k>`. With `eval_during_training` the test split is also scored
    after every `eval_every` epochs (the official main.py does this, for curves); otherwise it is
    scored once, after training. `cfg.resume` may be None or 'auto' (each fold resumes in its folder).
    """
    if not folds:
        raise ValueError("folds must name at least one fold")
    if len(set(folds)) != len(folds):
        raise ValueError(f"folds must be unique, got {list(folds)}")
    if cfg.resume not in (None, "auto"):
        raise ValueError(f"run_kfold takes resume=None or 'auto' (one checkpoint per fold), got {cfg.resume!r}")
    info = get_dist_info()
    root = Path(cfg.out_dir)
    results: list[FoldResult] = []
    for fold in folds:
        fold_dir = root / f"fold_{fold}"
        fold_cfg = dataclasses.replace(cfg, out_dir=str(fold_dir))
        train_set, test_set = make_datasets(fold)
        model = make_model(fold)
        callbacks = list(make_callbacks(fold)) if make_callbacks is not None else []
        train(model, train_set, test_set if eval_during_training else None, fold_cfg, callbacks, class_names)
        metrics = evaluate(
            model,
            test_set,
            batch_size=cfg.eval_batch_size,
            num_workers=cfg.num_workers,
            amp=cfg.amp,
            loss=cfg.loss,
            info=info,
            progress=cfg.progress,
        )
        if info.is_main:
            save_confusion_matrix(
                metrics.confusion, fold_dir / "confusion_test", class_names, title=f"fold {fold} test"
            )
            write_json(fold_dir / "test_metrics.json", metrics.to_dict())
        logger.info("fold %s: UAR %.4f WAR %.4f (%d clips)", fold, metrics.uar, metrics.war, metrics.num_samples)
        results.append(FoldResult(fold, metrics.uar, metrics.war, metrics.loss, metrics.num_samples, str(fold_dir)))
    uar_mean, uar_std = _mean_std([r.uar for r in results])
    war_mean, war_std = _mean_std([r.war for r in results])
    result = KFoldResult(results, uar_mean, uar_std, war_mean, war_std)
    if info.is_main:
        result.summary_path = write_json(root / "kfold_summary.json", result.to_dict())
    return result
