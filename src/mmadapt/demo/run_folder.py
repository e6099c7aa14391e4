"""A demo run folder that ``mmadapt eval`` / ``predict`` use on their own: the backbones beside the adapter.

The demo's backbones are pretrained in-process, so no cheap recipe rebuilds them: their weights are saved as
``backbones/<stream>.safetensors`` and an ``experiment.yaml`` (in the run folder and in its adapter folder, as
``mmadapt train`` writes them) names those files with the timm keywords that build the architecture. Every path in
it is relative to the file's folder, so the run folder can be moved or copied anywhere.

Layout::

    runs/<preset>/
        experiment.yaml          model.{audio,video}.checkpoint: backbones/<stream>.safetensors
        backbones/audio.safetensors, backbones/video.safetensors
        adapter/                 adapter_config.json, adapter_model.safetensors, experiment.yaml (../backbones/...)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from .._io import write_safetensors
from ..cli._common import ADAPTER_SUBDIR, EXPERIMENT_FILE
from .scenes import SyntheticDataset

if TYPE_CHECKING:
    from ..data import DataConfig
    from ..recipe.config import TrainConfig
    from ..recipe.experiment import ExperimentConfig
    from .driver import DemoConfig

__all__ = ["BACKBONE_DIR", "demo_experiment", "save_run_folder"]

BACKBONE_DIR = "backbones"
"""Folder of the run folder holding one ``<stream>.safetensors`` per backbone."""


def demo_experiment(
    run_dir: Path,
    preset: str,
    cfg: DemoConfig,
    data: SyntheticDataset,
    data_cfg: DataConfig,
    train_cfg: TrainConfig,
    adapter_overrides: Mapping[str, Any],
) -> ExperimentConfig:
    """The experiment a demo run amounts to, with absolute paths: the saved backbones of ``run_dir``, the demo's
    data (its test split was the validation split) and training."""
    from ..data import DataConfig as _DataConfig
    from ..recipe.experiment import BackboneSpec, DataSource, ExperimentConfig, ExperimentData, ModelSpec
    from .driver import DEMO_TIMM_VIT, backbone_kwargs

    run_dir = run_dir.resolve()
    kwargs = backbone_kwargs(cfg)
    model = ModelSpec(
        preset=preset,
        audio=BackboneSpec(DEMO_TIMM_VIT, kwargs["audio"], str(run_dir / BACKBONE_DIR / "audio.safetensors")),
        video=BackboneSpec(DEMO_TIMM_VIT, kwargs["video"], str(run_dir / BACKBONE_DIR / "video.safetensors")),
        overrides=dict(adapter_overrides),
        init_seed=cfg.seed,
    )
    source = DataSource(
        kind="manifest",
        train=str(data.train_manifest.resolve()),
        val=str(data.test_manifest.resolve()),
        class_names=list(data.class_names),
    )
    sampling = {f.name: getattr(data_cfg, f.name) for f in dataclasses.fields(_DataConfig) if f.name != "mode"}
    return ExperimentConfig(
        model=model,
        data=ExperimentData(**sampling, source=source),
        train=dataclasses.replace(train_cfg, out_dir=str(run_dir)),
    )


def save_run_folder(
    run_dir: Path,
    preset: str,
    backbones: Mapping[str, nn.Module],
    cfg: DemoConfig,
    data: SyntheticDataset,
    data_cfg: DataConfig,
    train_cfg: TrainConfig,
    adapter_overrides: Mapping[str, Any],
) -> Path:
    """Write the backbones and the experiment files into the trained run folder ``run_dir``; returns it."""
    for stream, backbone in backbones.items():
        write_safetensors(run_dir / BACKBONE_DIR / f"{stream}.safetensors", backbone.state_dict())
    experiment = demo_experiment(run_dir, preset, cfg, data, data_cfg, train_cfg, adapter_overrides)
    for folder in (run_dir, run_dir / ADAPTER_SUBDIR):
        experiment.with_relative_paths(folder).save(folder / EXPERIMENT_FILE)
    return run_dir
