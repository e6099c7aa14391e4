"""Moved to :mod:`mmadapt.methods.mma_dfer.maeface` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.maeface import maeface_vit_base

__all__ = ["maeface_vit_base"]
