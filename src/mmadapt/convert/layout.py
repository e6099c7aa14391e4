"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.layout` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.layout import (
    POS_SLOT,
    Dropped,
    OfficialLayout,
    Part,
    Route,
    build_layout,
)

__all__ = [
    "POS_SLOT",
    "Dropped",
    "OfficialLayout",
    "Part",
    "Route",
    "build_layout",
]
