"""Moved to :mod:`mmadapt.demo.scenes` (the demo wing); this module keeps the old import path working."""

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
    "SYNTHETIC_CLASSES",
    "SyntheticConfig",
    "SyntheticDataset",
    "expression_track",
    "load_class_names",
    "make_synthetic_dataset",
    "speaker_traits",
    "synthesize_clip",
]
