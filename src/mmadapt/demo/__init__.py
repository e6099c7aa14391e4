"""The demo wing: MMA-DFER end to end on synthetic audio-visual "expression" scenes, offline on a CPU.

``scenes`` draws the clips and writes them as real mp4 files (:func:`make_synthetic_dataset`); ``driver``
pretrains two small unimodal ViTs, wraps them and trains the adapters with the recipe (:func:`run_demo`,
``mmadapt demo``); ``run_folder`` saves each run's backbones and experiment.yaml beside its adapter, so that
``mmadapt eval`` / ``predict`` use the run folder alone; ``report`` is its per-epoch log line. Nothing in the
toolkit core imports this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .driver import (
        DEMO_ABLATIONS,
        DEMO_TIMM_VIT,
        DemoConfig,
        DemoResult,
        SeedSweep,
        backbone_kwargs,
        demo_adapter_overrides,
        demo_data_config,
        demo_model_config,
        demo_train_config,
        make_backbones,
        predict_clip,
        pretrain_backbones,
        run_demo,
        run_seed_sweep,
    )
    from .scenes import (
        ACTION_NAMES,
        CLASS_CUES,
        SYNTHETIC_CLASSES,
        SyntheticConfig,
        SyntheticDataset,
        expression_track,
        load_class_names,
        make_synthetic_dataset,
        speaker_traits,
        synthesize_clip,
    )

_LAZY: dict[str, str] = {
    "ACTION_NAMES": ".scenes",
    "CLASS_CUES": ".scenes",
    "DEMO_ABLATIONS": ".driver",
    "DEMO_TIMM_VIT": ".driver",
    "DemoConfig": ".config",
    "DemoResult": ".driver",
    "SYNTHETIC_CLASSES": ".scenes",
    "SeedSweep": ".driver",
    "SyntheticConfig": ".scenes",
    "SyntheticDataset": ".scenes",
    "backbone_kwargs": ".driver",
    "demo_adapter_overrides": ".driver",
    "demo_data_config": ".driver",
    "demo_train_config": ".driver",
    "demo_model_config": ".driver",
    "expression_track": ".scenes",
    "load_class_names": ".scenes",
    "make_backbones": ".driver",
    "make_synthetic_dataset": ".scenes",
    "predict_clip": ".driver",
    "pretrain_backbones": ".driver",
    "run_demo": ".driver",
    "run_seed_sweep": ".driver",
    "speaker_traits": ".scenes",
    "synthesize_clip": ".scenes",
}
"""Public name -> its module, imported on first access: ``mmadapt demo --help`` needs only :mod:`.config`."""

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "ACTION_NAMES",
    "CLASS_CUES",
    "DEMO_ABLATIONS",
    "DEMO_TIMM_VIT",
    "SYNTHETIC_CLASSES",
    "DemoConfig",
    "DemoResult",
    "SeedSweep",
    "SyntheticConfig",
    "SyntheticDataset",
    "backbone_kwargs",
    "demo_adapter_overrides",
    "demo_data_config",
    "demo_model_config",
    "demo_train_config",
    "expression_track",
    "load_class_names",
    "make_backbones",
    "make_synthetic_dataset",
    "predict_clip",
    "pretrain_backbones",
    "run_demo",
    "run_seed_sweep",
    "speaker_traits",
    "synthesize_clip",
]
