"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.to_official` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.to_official import to_official

__all__ = ["to_official"]
