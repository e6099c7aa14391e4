"""Moved to :mod:`mmadapt.methods.mma_dfer.convert._build` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert._build import (
    assign_backbone,
    build_meta_backbone,
    check_state_fits,
    wrap_quietly,
)

__all__ = [
    "assign_backbone",
    "build_meta_backbone",
    "check_state_fits",
    "wrap_quietly",
]
