"""UAR / WAR and the confusion matrix, with the convention of the official evaluate.py.

Official evaluate.py: sklearn `confusion_matrix(targets, preds)` (rows = true class), row-normalised,
UAR = mean of the diagonal, WAR = correct / number of clips. Our choices, stated:

* UAR = mean over classes **present in the targets** of recall = cm[c, c] / cm[c, :].sum(). This is
  sklearn's `balanced_accuracy_score`. It equals the official number whenever that one is finite;
  the official code returns NaN when a class is predicted but absent from the targets (0/0 row).
* torchmetrics' `MulticlassRecall(average="macro")` is NOT used for UAR: it drops only classes absent
  from both targets and predictions, so a class that is predicted but absent counts as recall 0
  (for targets [0,0,1,1] and predictions [0,2,1,1] it gives 0.5 where UAR is 0.75). We use
  torchmetrics' confusion matrix and derive both numbers from it.
* WAR = trace / total (micro accuracy). Both are fractions in [0, 1]; the paper prints x100.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torchmetrics.functional.classification import multiclass_confusion_matrix

from .._io import atomic_write, write_json

__all__ = [
    "ClassificationMetrics",
    "compute_metrics",
    "confusion_matrix",
    "per_class_recall",
    "save_confusion_matrix",
    "uar",
    "war",
]


def confusion_matrix(preds: torch.Tensor, targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C, C) int64 counts, rows = true class, columns = predicted class."""
    preds, targets = preds.reshape(-1).long().cpu(), targets.reshape(-1).long().cpu()
    if preds.shape != targets.shape:
        raise ValueError(f"preds {tuple(preds.shape)} and targets {tuple(targets.shape)} differ in length")
    for name, values in (("preds", preds), ("targets", targets)):
        if values.numel() and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes}), got range [{values.min()}, {values.max()}]")
    if preds.numel() == 0:
        return torch.zeros(num_classes, num_classes, dtype=torch.long)
    return multiclass_confusion_matrix(preds, targets, num_classes=num_classes).long()


def per_class_recall(cm: torch.Tensor) -> torch.Tensor:
    """Recall per true class; NaN for classes with no target samples (they have no recall)."""
    support = cm.sum(dim=1).double()
    return torch.where(support > 0, cm.diagonal().double() / support.clamp_min(1), torch.nan)


def uar(cm: torch.Tensor) -> float:
    """Unweighted average recall over classes present in the targets (NaN if there are none)."""
    recall = per_class_recall(cm)
    present = ~recall.isnan()
    return float(recall[present].mean()) if present.any() else float("nan")


def war(cm: torch.Tensor) -> float:
    """Weighted average recall = overall accuracy (NaN for an empty matrix)."""
    total = int(cm.sum())
    return float(cm.diagonal().sum()) / total if total else float("nan")


@dataclass
class ClassificationMetrics:
    """One evaluation's numbers. `confusion` rows are true classes; `loss` is the mean per clip."""

    uar: float
    war: float
    loss: float
    num_samples: int
    confusion: torch.Tensor = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready scalars (the matrix goes to its own file)."""
        return {"uar": self.uar, "war": self.war, "loss": self.loss, "num_samples": self.num_samples}


def compute_metrics(
    logits: torch.Tensor, targets: torch.Tensor, loss_sum: float | None = None
) -> ClassificationMetrics:
    """Metrics from (N, C) logits and (N,) targets; `loss_sum` (summed per-clip loss) gives `loss`."""
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {tuple(logits.shape)}")
    cm = confusion_matrix(logits.argmax(dim=1), targets, num_classes=logits.shape[1])
    n = int(targets.numel())
    loss = float(loss_sum) / n if (loss_sum is not None and n) else float("nan")
    return ClassificationMetrics(uar=uar(cm), war=war(cm), loss=loss, num_samples=n, confusion=cm)


def save_confusion_matrix(
    cm: torch.Tensor,
    path_stem: str | os.PathLike[str],
    class_names: list[str] | None = None,
    title: str = "confusion matrix",
) -> tuple[Path, Path]:
    """Write `<stem>.json` (counts, names, recalls) and `<stem>.png` (row-normalised %), atomically."""
    num_classes = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f"{len(names)} class names for a {num_classes}-class confusion matrix")
    stem = Path(path_stem)
    recall = per_class_recall(cm)
    json_path = write_json(
        stem.with_suffix(".json"),
        {
            "class_names": names,
            "rows": "true class",
            "columns": "predicted class",
            "counts": cm.tolist(),
            "per_class_recall": [None if r != r else r for r in recall.tolist()],
            "uar": uar(cm),
            "war": war(cm),
        },
    )
    png_path = atomic_write(stem.with_suffix(".png"), lambda handle: _plot(cm, names, title, handle))
    return json_path, png_path


def _plot(cm: torch.Tensor, names: list[str], title: str, handle: Any) -> None:
    # The Agg canvas is attached to this figure only: no pyplot, no change to the global backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    support = cm.sum(dim=1, keepdim=True).double().clamp_min(1)
    percent = (cm.double() / support * 100).numpy()
    size = 1.0 + 0.6 * len(names)
    fig = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(percent, vmin=0, vmax=100, cmap="Blues")
    fig.colorbar(image, ax=ax, label="% of true class")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    for i in range(len(names)):
        for j in range(len(names)):
            color = "white" if percent[i, j] > 50 else "black"
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    fig.savefig(handle, format="png", dpi=100)
