"""Moved to :mod:`mmadapt.demo.driver` (the demo wing); this module keeps the old import path working."""

from mmadapt.demo.driver import (
    DEMO_ABLATIONS,
    DemoConfig,
    DemoResult,
    SeedSweep,
    demo_model_config,
    make_backbones,
    predict_clip,
    pretrain_backbones,
    run_demo,
    run_seed_sweep,
)

__all__ = [
    "DEMO_ABLATIONS",
    "DemoConfig",
    "DemoResult",
    "SeedSweep",
    "demo_model_config",
    "make_backbones",
    "predict_clip",
    "pretrain_backbones",
    "run_demo",
    "run_seed_sweep",
]
