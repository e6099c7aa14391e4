"""Train an adapter from an experiment config, e.g.
``mmadapt train --config exp.yaml train.lr=3e-4 data.img_size=112 --out runs/a``.

The run folder receives ``experiment.yaml`` (the resolved config, absolute paths), ``config.json``,
``metrics.jsonl``, ``summary.json`` (final = last epoch, the official protocol), ``confusion_final.{json,png}``,
``run.json`` (the run id), ``checkpoints/`` and ``adapter/`` (``adapter_config.json`` +
``adapter_model.safetensors`` + experiment.yaml);
with a test split also ``test_metrics.json`` and ``confusion_test.{json,png}``. With ``--folds`` each fold
goes to ``fold_<k>/`` (data paths take a ``{fold}`` placeholder) and ``kfold_summary.json`` holds mean and std.
Works under ``torchrun`` (only rank 0 writes files). A folder holding another run is refused unless ``--resume``
continues it or ``--overwrite`` replaces it; a folder another process is training into is refused at once.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, MMAdaptError
from ._common import (
    ADAPTER_SUBDIR,
    EXPERIMENT_FILE,
    add_check_finite_argument,
    add_data_check_argument,
    add_experiment_arguments,
    check_data,
    check_output_dir,
    flag_overrides,
    load_experiment,
    resolve_device,
)

if TYPE_CHECKING:
    from ..recipe import TrainConfig
    from ..recipe.experiment import ExperimentConfig

HELP = "train an adapter from an experiment config (+ key=value overrides)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_arguments(
        p,
        config_help="experiment config (.yaml/.json); default: built-in defaults",
        examples="train.lr=3e-4 data.img_size=112 model.preset=mma-dfer-no-fusion model.overrides.fusion.latent_dim=64",
    )
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="run folder (required unless --print-config)")
    p.add_argument(
        "--resume",
        default=None,
        metavar="auto|PATH",
        help="continue from a training checkpoint: 'auto' = the newest in the run folder, or a checkpoint file",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar and no per-epoch lines (train.progress=false train.epoch_lines=false); "
        "results still print",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start a new run in a --out folder that holds another run (its checkpoints and summary are deleted)",
    )
    p.add_argument(
        "--folds",
        type=int,
        nargs="+",
        default=None,
        metavar="K",
        help="cross-validation folds to run (data paths hold a {fold} placeholder); put them after the overrides",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved experiment config (YAML) and exit")
    add_check_finite_argument(p)
    add_data_check_argument(p)


def _is_main_process() -> bool:
    """Rank 0 (torchrun sets RANK before the recipe joins the process group)."""
    return int(os.environ.get("RANK", "0")) == 0


def run(args: argparse.Namespace) -> int:
    import yaml

    quiet = ["train.progress=false", "train.epoch_lines=false"] if args.quiet else []
    cfg = load_experiment(args.config, [*flag_overrides(args), *quiet, *args.overrides])
    if args.out is not None:
        cfg = dataclasses.replace(cfg, train=_replace_train(cfg.train, out_dir=str(args.out)))
    if args.resume is not None:
        cfg = dataclasses.replace(cfg, train=_replace_train(cfg.train, resume=args.resume))
    if args.overwrite:
        cfg = dataclasses.replace(cfg, train=_replace_train(cfg.train, overwrite=True))
    cfg = cfg.with_absolute_paths()
    if args.print_config:
        sys.stdout.write(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        return 0
    if args.out is None:
        raise ConfigError("--out DIR is required (the run folder)")
    check_output_dir(args.out)
    resolve_device(None, cfg)  # a device this machine lacks fails before data and backbones are built
    resume = cfg.train.resume
    if resume not in (None, "auto"):
        if args.folds:
            raise ConfigError("--folds resumes each fold from its own folder: use --resume auto")
        if not Path(resume).is_file():
            raise ConfigError(f"--resume {resume}: checkpoint file not found")
    if args.folds and not cfg.data.source.uses_folds():
        raise ConfigError("--folds given but no data.source path contains {fold}")
    cfg = check_data(args, cfg, _split_files(cfg, args.folds))  # before the run folder and the backbones
    if args.folds:
        return _run_kfold(cfg, args.folds)
    return _run_single(cfg)


def _split_files(cfg: ExperimentConfig, folds: list[int] | None) -> list[str]:
    """The split files the run reads (each fold's with ``--folds``); none when the source is incomplete, which
    building the datasets reports."""
    from ..recipe.experiment import SPLITS

    if not folds and (cfg.data.source.train is None or cfg.data.source.uses_folds()):
        return []
    sources = [cfg.for_fold(fold).data.source for fold in folds] if folds else [cfg.data.source]
    files = [getattr(src, split) for src in sources for split in SPLITS if getattr(src, split)]
    return list(dict.fromkeys(files))


def _replace_train(train_cfg: TrainConfig, **changes: Any) -> TrainConfig:
    try:
        return dataclasses.replace(train_cfg, **changes)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from err


def _save_experiment(cfg: ExperimentConfig, folder: Path) -> None:
    if _is_main_process():
        cfg.save(folder / EXPERIMENT_FILE)


def _run_folder(cfg: ExperimentConfig, out: Path) -> contextlib.AbstractContextManager[Any]:
    """Lock and claim the run folder before anything is written into it (rank 0; the trainer claims it again)."""
    from ..recipe.run_folder import claim_run_folder

    if not _is_main_process():
        return contextlib.nullcontext()
    return claim_run_folder(out, resume=cfg.train.resume, overwrite=cfg.train.overwrite)


def _run_single(cfg: ExperimentConfig) -> int:
    with _run_folder(cfg, Path(cfg.train.out_dir)):
        return _train_single(cfg)


def _train_single(cfg: ExperimentConfig) -> int:
    from .._io import write_json
    from ..recipe import evaluate, save_confusion_matrix, seed_everything, train
    from ..recipe.distributed import get_dist_info
    from ..recipe.experiment import build_datasets, build_model, class_names

    datasets = build_datasets(cfg)  # first: a missing file fails before anything is written
    seed_everything(cfg.train.seed)  # adapter initialisation
    model = build_model(cfg)
    out = Path(cfg.train.out_dir)
    _save_experiment(cfg, out)
    names = class_names(cfg)
    result = _call_recipe(train, model, datasets["train"], datasets.get("val"), cfg.train, class_names=names)
    info = get_dist_info()
    if info.is_main:
        shutil.copy2(out / EXPERIMENT_FILE, out / ADAPTER_SUBDIR / EXPERIMENT_FILE)
    if result.final is not None:
        _say(f"final (epoch {result.final['epoch']}) val UAR {result.final['uar']:.4f} WAR {result.final['war']:.4f}")
    if "test" in datasets:
        metrics = evaluate(
            model,
            datasets["test"],
            batch_size=cfg.train.eval_batch_size,
            num_workers=cfg.train.num_workers,
            amp=cfg.train.amp,
            loss=cfg.train.loss,
            info=info,
        )
        if info.is_main:
            write_json(out / "test_metrics.json", metrics.to_dict())
            save_confusion_matrix(metrics.confusion, out / "confusion_test", list(names) if names else None, "test")
        _say(f"test UAR {metrics.uar:.4f} WAR {metrics.war:.4f} ({metrics.num_samples} clips)")
    _say(f"adapter: {out / ADAPTER_SUBDIR}")
    _leave_process_group()
    return 0


def _run_kfold(cfg: ExperimentConfig, folds: list[int]) -> int:
    from ..recipe import run_kfold, seed_everything
    from ..recipe.experiment import build_dataset, build_model, class_names
    from ..recipe.run_folder import inspect_run_folder

    out = Path(cfg.train.out_dir)
    for fold in folds:  # another run's fold folder is refused before any file is written
        inspect_run_folder(out / f"fold_{fold}", resume=cfg.train.resume, overwrite=cfg.train.overwrite)
    _save_experiment(cfg, out)

    def make_datasets(fold: int) -> tuple[Any, Any]:
        src = cfg.for_fold(fold).data.source
        held_out = src.test or src.val
        if src.train is None or held_out is None:
            raise ConfigError("k-fold runs need data.source.train and .test (or .val) with the {fold} placeholder")
        return build_dataset(cfg, src.train, "train"), build_dataset(cfg, held_out, "test")

    def make_model(fold: int) -> Any:
        fold_cfg = cfg.for_fold(fold)
        fold_cfg = dataclasses.replace(fold_cfg, train=_replace_train(cfg.train, out_dir=str(out / f"fold_{fold}")))
        _save_experiment(fold_cfg, out / f"fold_{fold}")
        seed_everything(cfg.train.seed)
        return build_model(fold_cfg)

    for fold in folds:  # fail on a missing file before the first fold trains
        make_datasets(fold)
    result = _call_recipe(run_kfold, make_model, make_datasets, cfg.train, folds, class_names=class_names(cfg))
    if _is_main_process():
        for fold in folds:
            fold_dir = out / f"fold_{fold}"
            shutil.copy2(fold_dir / EXPERIMENT_FILE, fold_dir / ADAPTER_SUBDIR / EXPERIMENT_FILE)
    for r in result.folds:
        _say(f"fold {r.fold}: test UAR {r.uar:.4f} WAR {r.war:.4f} ({r.num_samples} clips)")
    _say(
        f"{len(result.folds)} folds: UAR {result.uar_mean:.4f} ± {result.uar_std:.4f}, "
        f"WAR {result.war_mean:.4f} ± {result.war_std:.4f} -> {out / 'kfold_summary.json'}"
    )
    _leave_process_group()
    return 0


def _call_recipe(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a recipe entry point; its ValueErrors (batch size vs. world size, bad checkpoint...) become
    ConfigErrors, which the command line reports without a traceback."""
    try:
        return fn(*args, **kwargs)
    except MMAdaptError:
        raise
    except ValueError as err:
        raise ConfigError(f"training stopped: {err}") from err


def _say(message: str) -> None:
    if _is_main_process():
        print(message)


def _leave_process_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
