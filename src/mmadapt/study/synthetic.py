"""A study on a demo scene: its clips and two small unimodal ViTs pretrained on it, made once per study folder.

Every cell then reads the same ``backbones/<stream>.safetensors`` through the study's ``experiment.yaml`` (the
demo's run-folder experiment, :func:`mmadapt.demo.run_folder.demo_experiment`), exactly as a real-data study reads
the checkpoints its experiment names: one cell code path for both sources.

Layout inside the study folder::

    data/                       the scene's mp4 clips, train.csv, test.csv (the validation split), classes.json
    backbones/{audio,video}.safetensors
    experiment.yaml             written last: its presence means the preparation finished
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..registry import Registry
from .config import StudyConfig

if TYPE_CHECKING:
    from ..demo.config import DemoConfig
    from ..demo.driver import PretrainDraw
    from ..demo.scenes import SyntheticDataset

__all__ = ["EXPERIMENT_FILE", "SCENES", "SCENE_PRETRAINING", "prepare_synthetic", "register_scene"]

logger = logging.getLogger(__name__)

EXPERIMENT_FILE = "experiment.yaml"
"""The study's experiment, in the study folder: backbones, data and training of every cell."""

SceneWriter = Callable[[Path, "DemoConfig"], "SyntheticDataset"]
SCENES: Registry[SceneWriter] = Registry("scene")
"""Scene name -> writer ``(folder, DemoConfig) -> SyntheticDataset`` of its clips and manifests."""
SCENE_PRETRAINING: Registry[PretrainDraw] = Registry("scene pretraining")
"""Scene name -> its unimodal pretraining draw (:data:`mmadapt.demo.driver.PretrainDraw`); a scene without one
pretrains as the expressions scene does (:func:`mmadapt.demo.driver.expression_example`)."""


def register_scene(
    name: str, writer: SceneWriter | None = None, *, pretraining: PretrainDraw | None = None, override: bool = False
) -> Any:
    """Register a synthetic scene for ``mmadapt study --synthetic NAME`` (usable as a decorator), with the
    ``pretraining`` draw its backbones learn from."""
    if pretraining is not None:
        SCENE_PRETRAINING.register(name, pretraining, override=override)
    return SCENES.register(name, writer, override=override)


@register_scene("expressions")
def _expressions(root: Path, cfg: DemoConfig) -> SyntheticDataset:
    """The demo's scene: one face whose expression and one voice whose intonation carry the six classes."""
    from ..demo.scenes import SyntheticConfig, make_synthetic_dataset

    syn = SyntheticConfig(size=cfg.img_size, nuisance=cfg.nuisance)
    return make_synthetic_dataset(root, n_per_class=cfg.n_per_class, seed=cfg.seed, config=syn)


def _speakers_example(k: int, seed: int, syn: Any, rng: Any) -> Any:
    from ..demo.scene_speakers import pretraining_example

    return pretraining_example(k, seed, syn, rng)


@register_scene("speakers", pretraining=_speakers_example)
def _speakers(root: Path, cfg: DemoConfig) -> SyntheticDataset:
    """Two faces and one voice; the label is the speaker's expression (:mod:`mmadapt.demo.scene_speakers`)."""
    from ..demo.scene_speakers import make_speakers_dataset
    from ..demo.scenes import SyntheticConfig

    syn = SyntheticConfig(size=cfg.img_size, nuisance=cfg.nuisance)
    return make_speakers_dataset(root, n_per_class=cfg.n_per_class, seed=cfg.seed, config=syn)


def prepare_synthetic(study: StudyConfig) -> Path:
    """Write the scene's data, pretrain and save the backbones, and write the study's experiment; returns its
    path. A finished preparation (the experiment file exists) is kept as it is."""
    import torch

    from .._io import write_safetensors
    from ..demo.driver import demo_data_config, demo_train_config, make_backbones, pretrain_backbones
    from ..demo.run_folder import BACKBONE_DIR, demo_experiment

    out = Path(study.out_dir)
    path = out / EXPERIMENT_FILE
    if path.is_file():
        return path
    writer = SCENES.get(study.synthetic)
    draws = {"draw": SCENE_PRETRAINING.get(study.synthetic)} if study.synthetic in SCENE_PRETRAINING else {}
    cfg = study.demo if study.epochs is None else study.demo.replace(epochs=study.epochs)
    data = writer(out / "data", cfg)
    with torch.random.fork_rng(devices=[]):  # the caller's global RNG is left as it was
        torch.manual_seed(cfg.seed)
        audio, video = make_backbones(cfg)
        pretraining = pretrain_backbones(audio, video, cfg, **draws)
    for stream, backbone in (("audio", audio), ("video", video)):
        write_safetensors(out / BACKBONE_DIR / f"{stream}.safetensors", backbone.state_dict())
    overrides = {**cfg.adapter_overrides}
    overrides["head"] = {**overrides.get("head", {}), "max_frames": cfg.num_frames}
    experiment = demo_experiment(
        out, study.presets[0], cfg, data, demo_data_config(cfg), demo_train_config(cfg, out, False), overrides
    )
    experiment.with_relative_paths(out).save(path)
    logger.info("study backbones pretrained: %s", ", ".join(f"{k} {v:.3f}" for k, v in pretraining.items()))
    return path
