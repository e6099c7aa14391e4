"""Train one (preset, seed) cell of a study and save its result; a top-level function, so a spawned worker
process can run it from its arguments alone.

The cell reads the study's ``experiment.yaml`` (backbone checkpoints, data, training), sets the preset and the
seed, and keeps from ``model.overrides`` only the adapters the preset has (its ``None`` adapters stay off, as in the
demo) and, of those, the overrides sized for the preset's kind (:mod:`mmadapt._preset_overrides`). The seed seeds
the adapters' initialisation and the training (batch order); backbones and data are those of every other cell. The
digest of the backbone weights after training (adapters detached) goes into the result: equal digests across cells
are the proof that every preset saw the same frozen backbones.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .grid import Cell

if TYPE_CHECKING:
    from torch import nn

    from ..recipe.experiment import ExperimentConfig

__all__ = ["CellTask", "run_cell", "weights_digest"]


@dataclass(frozen=True)
class CellTask:
    """Everything a worker needs: picklable, no open files or models."""

    cell: Cell
    out_dir: str
    experiment: str
    """Path of the study's experiment file."""
    epochs: int | None
    threads: int


def weights_digest(state: dict[str, Any]) -> str:
    """sha256 over the names, dtypes, shapes and bytes of a state dict's tensors, in name order."""
    import torch

    h = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _cell_experiment(task: CellTask) -> ExperimentConfig:
    from ..recipe.experiment import ExperimentConfig

    cfg = ExperimentConfig.load(task.experiment)
    train = cfg.train.replace(
        out_dir=str(task.cell.run_dir(task.out_dir)),
        seed=task.cell.seed,
        epochs=task.epochs or cfg.train.epochs,
        overwrite=True,  # an unfinished cell starts again from scratch
        resume=None,
        progress=False,  # the study draws one bar across the grid
        epoch_lines=False,
    )
    return cfg.replace(model=cfg.model.replace(preset=task.cell.preset), train=train)


def _wrap(cfg: ExperimentConfig, audio: nn.Module, video: nn.Module) -> nn.Module:
    """``build_model`` on given backbones, with the overrides of the adapters the preset lacks left out."""
    import mmadapt

    from .._preset_overrides import overrides_for_preset
    from ..anatomy import resolve_anatomy
    from ..recipe.experiment import model_overrides, num_classes

    base = mmadapt.get_preset(cfg.model.preset, resolve_anatomy(audio), resolve_anatomy(video))
    overrides = overrides_for_preset(base, model_overrides(cfg))
    return mmadapt.wrap_encoders(audio, video, preset=cfg.model.preset, num_classes=num_classes(cfg), **overrides)


def run_cell(task: CellTask) -> dict[str, Any]:
    """Train the cell, write its result file atomically, return the result."""
    import torch

    from .._io import write_json
    from ..errors import ConfigError
    from ..recipe import seed_everything, train
    from ..recipe.experiment import build_backbones, build_datasets, class_names
    from ..recipe.metrics import per_class_recall

    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(task.threads)
    try:
        cfg = _cell_experiment(task)
        datasets = build_datasets(cfg)
        if "val" not in datasets:
            raise ConfigError("a study compares validation metrics: set data.source.val in the experiment")
        audio, video = build_backbones(cfg)
        seed_everything(task.cell.seed)  # adapter initialisation
        model = _wrap(cfg, audio, video)
        names = class_names(cfg)
        result = train(model, datasets["train"], datasets["val"], cfg.train, class_names=names)
        streams = list(model.backbones)
        backbones = dict(zip(streams, model.detach(), strict=True))  # bit-identical: proves they stayed frozen
    finally:
        torch.set_num_threads(threads)
    if result.final is None or result.final_metrics is None:
        raise ConfigError(f"cell {task.cell}: training ended without a validation evaluation")
    recall = per_class_recall(result.final_metrics.confusion).tolist()
    names = list(names) if names else [str(i) for i in range(len(recall))]
    record = {
        "preset": task.cell.preset,
        "seed": task.cell.seed,
        "uar": float(result.final["uar"]),
        "war": float(result.final["war"]),
        "loss": float(result.final["loss"]),
        "epoch": int(result.final["epoch"]),
        "per_class_recall": dict(zip(names, recall, strict=True)),
        "backbones": {s: weights_digest(b.state_dict()) for s, b in backbones.items()},
        "run_dir": str(Path(cfg.train.out_dir).relative_to(Path(task.out_dir))),
        "seconds": time.perf_counter() - started,
    }
    write_json(task.cell.result_file(task.out_dir), record)
    return record
