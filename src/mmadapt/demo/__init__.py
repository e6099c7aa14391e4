"""The demo wing: MMA-DFER end to end on synthetic audio-visual "expression" scenes, offline on a CPU.

``scenes`` draws the clips and writes them as real mp4 files (:func:`make_synthetic_dataset`); ``driver``
pretrains two small unimodal ViTs, wraps them and trains the adapters with the recipe (:func:`run_demo`,
``mmadapt demo``); ``run_folder`` saves each run's backbones and experiment.yaml beside its adapter, so that
``mmadapt eval`` / ``predict`` use the run folder alone; ``report`` is its per-epoch log line. Nothing in the
toolkit core imports this package.
"""

from mmadapt.demo.driver import (
    DEMO_ABLATIONS,
    DEMO_TIMM_VIT,
    DemoConfig,
    DemoResult,
    SeedSweep,
    backbone_kwargs,
    demo_adapter_overrides,
    demo_model_config,
    make_backbones,
    predict_clip,
    pretrain_backbones,
    run_demo,
    run_seed_sweep,
)
from mmadapt.demo.scenes import (
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

__all__ = [
    "ACTION_NAMES",
    "CLASS_CUES",
    "DEMO_ABLATIONS",
    "DEMO_TIMM_VIT",
    "DemoConfig",
    "DemoResult",
    "SYNTHETIC_CLASSES",
    "SeedSweep",
    "SyntheticConfig",
    "SyntheticDataset",
    "backbone_kwargs",
    "demo_adapter_overrides",
    "demo_model_config",
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
