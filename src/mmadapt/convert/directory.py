"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.directory` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.directory import (
    BACKBONE_FILES,
    EXTRAS_FILE,
    MANIFEST,
    load_converted,
    save_converted,
)

__all__ = [
    "BACKBONE_FILES",
    "EXTRAS_FILE",
    "MANIFEST",
    "load_converted",
    "save_converted",
]
