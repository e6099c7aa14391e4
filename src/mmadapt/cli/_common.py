"""Shared pieces of the recipe commands: option groups, experiment loading, finding and loading a trained adapter."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._adapter_files import CONFIG_NAME
from ..config_base import apply_overrides
from ..errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    import torch

    from ..model import MultimodalAdapterModel
    from ..recipe.experiment import ExperimentConfig

EXPERIMENT_FILE = "experiment.yaml"
"""Name of the resolved experiment config that ``train`` writes into the run folder and the adapter folder."""
ADAPTER_SUBDIR = "adapter"
"""Where the training recipe saves the adapter inside a run folder."""


# ---- output paths -------------------------------------------------------------------------------------------
def check_output_dir(path: Path, flag: str = "--out") -> None:
    """Refuse, before any compute, an output folder that cannot be made: a file there, or no way to create it."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path}: is a file, not a folder")
    _check_creatable(path, flag)


def check_output_file(path: Path, flag: str) -> None:
    """Refuse, before any compute, an output file that cannot be written: a folder there, or no way to create it."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder, not a file")
    _check_creatable(path.parent, flag, of=path)


def _check_creatable(folder: Path, flag: str, of: Path | None = None) -> None:
    import os

    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    target = of if of is not None else folder
    if not ancestor.is_dir():
        raise ConfigError(f"{flag} {target}: {ancestor} is a file, so the folder cannot be created")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {target}: {ancestor} is not writable")


# ---- option groups --------------------------------------------------------------------------------------------
def add_experiment_arguments(p: argparse.ArgumentParser, *, config_help: str, examples: str) -> None:
    """``--config FILE`` and positional ``KEY=VALUE`` overrides."""
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help=config_help)
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help=f"experiment overrides, dotted for nested keys, given together (e.g. {examples}); "
        "`mmadapt train --print-config` lists every key",
    )
    add_missing_audio_argument(p)


def add_set_argument(p: argparse.ArgumentParser, help: str) -> None:
    """``--set KEY=VALUE``, repeatable, collected in ``args.overrides`` (demo, predict, export)."""
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_missing_audio_argument(p: argparse.ArgumentParser) -> None:
    """``--missing-audio error|zeros``, the shorthand of ``data.missing_audio`` (train, eval and predict)."""
    p.add_argument(
        "--missing-audio",
        choices=("error", "zeros"),
        default=None,
        help="a clip without audio: 'error', or 'zeros' = silent features as the official MAFW code does (counted in "
        "the run summary); shorthand for data.missing_audio=...; default: the config's value",
    )


def add_check_finite_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--check-finite",
        action="store_true",
        help="stop at the first NaN/inf in a model input or in the logits, naming the stream, the counts and the "
        "first bad index (exit 1); costs a device sync per batch; shorthand for train.check_finite=true",
    )


def add_data_check_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--skip-data-check",
        action="store_true",
        help="leave out the up-front check that probes every clip file and label before the backbones are built "
        "(about 1-2 ms per clip)",
    )


def check_data(
    args: argparse.Namespace, cfg: ExperimentConfig, files: Sequence[str], adapter_classes: int | None = None
) -> ExperimentConfig:
    """The up-front data check (:mod:`mmadapt.recipe.data_check`) unless ``--skip-data-check``; returns the config
    with an inferred ``model.num_classes``."""
    if getattr(args, "skip_data_check", False):
        return cfg
    from ..recipe.data_check import check_experiment_data

    return check_experiment_data(cfg, files, adapter_classes=adapter_classes)


def flag_overrides(args: argparse.Namespace) -> list[str]:
    """Dedicated flags as ``key=value`` overrides, placed before the positional ones (which win)."""
    overrides = [f"data.missing_audio={args.missing_audio}"] if getattr(args, "missing_audio", None) else []
    if getattr(args, "check_finite", False):
        overrides.append("train.check_finite=true")
    return overrides


def add_device_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device", default=None, help="torch device (cpu, cuda, cuda:1); default: train.device of the config"
    )


def add_adapter_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--adapter",
        type=Path,
        required=True,
        metavar="DIR",
        help=f"a run folder written by `mmadapt train` or its '{ADAPTER_SUBDIR}' folder ({CONFIG_NAME} + weights)",
    )


# ---- experiments and adapters ---------------------------------------------------------------------------------
def load_experiment(config: Path | None, overrides: Sequence[str]) -> ExperimentConfig:
    """The config file (or the defaults) with ``overrides`` applied by the one dotted parser
    (:func:`mmadapt.config_base.apply_overrides`)."""
    from ..recipe.experiment import ExperimentConfig

    cfg = ExperimentConfig() if config is None else ExperimentConfig.load(config)
    return apply_overrides(cfg, list(overrides))


def locate_adapter(path: Path) -> tuple[Path, Path | None]:
    """(adapter folder, experiment file beside it or None) for a run folder or an adapter folder."""
    if not path.exists():
        raise CheckpointError(f"{path}: adapter folder not found")
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a folder (give the run folder or its '{ADAPTER_SUBDIR}' folder)")
    for candidate in (path, path / ADAPTER_SUBDIR):
        if (candidate / CONFIG_NAME).is_file():
            experiment = next(
                (p for p in (candidate / EXPERIMENT_FILE, candidate.parent / EXPERIMENT_FILE) if p.is_file()), None
            )
            return candidate, experiment
    raise CheckpointError(f"{path}: no {CONFIG_NAME} here or in {path / ADAPTER_SUBDIR} (is it an mmadapt run?)")


def experiment_for_adapter(
    adapter: Path, config: Path | None, overrides: Sequence[str]
) -> tuple[Path, ExperimentConfig]:
    """The adapter folder and the experiment describing its backbones (``config`` wins over the saved one)."""
    adapter_dir, saved = locate_adapter(adapter)
    source = config or saved
    if source is None:
        raise ConfigError(
            f"{adapter_dir}: no {EXPERIMENT_FILE} beside the adapter; pass --config with the experiment that "
            "describes its backbones"
        )
    return adapter_dir, load_experiment(source, overrides)


def load_trained_model(adapter_dir: Path, cfg: ExperimentConfig, device: torch.device) -> MultimodalAdapterModel:
    """Rebuild the backbones the experiment describes and wrap them with the saved adapter, in eval mode; the
    backbones get the weight dtype they were trained with (``train.backbone_dtype``) and ``train.check_finite``
    switches the NaN/inf checks on."""
    from ..model import MultimodalAdapterModel
    from ..recipe.experiment import build_backbones
    from ..recipe.loop import apply_backbone_dtype

    audio, video = build_backbones(cfg)
    model = MultimodalAdapterModel.from_pretrained(adapter_dir, audio, video)
    model.check_finite = cfg.train.check_finite
    return apply_backbone_dtype(model, cfg.train.backbone_dtype).to(device).eval()


def label_names(cfg: ExperimentConfig, count: int) -> list[str]:
    """The experiment's class names when it names ``count`` of them, else ``class_<i>``."""
    from ..recipe.experiment import class_names

    names = class_names(cfg)
    if names is None:
        return [f"class_{i}" for i in range(count)]
    if len(names) != count:
        raise ConfigError(f"the adapter predicts {count} classes but the experiment names {len(names)}: {list(names)}")
    return list(names)


def resolve_device(name: str | None, cfg: ExperimentConfig) -> torch.device:
    """The torch device of ``--device`` (or ``train.device``); one that this machine lacks is a ConfigError naming
    the option, checked before data or backbones are built."""
    from ..recipe.loop import resolve_device as _resolve

    try:
        return _resolve(name or cfg.train.device)
    except RuntimeError as err:  # CUDA asked for but absent
        option = f"--device {name}" if name else f"train.device={cfg.train.device!r}"
        raise ConfigError(f"{option}: {err} on this machine (use auto or cpu)") from None
