"""Moved to :mod:`mmadapt.methods.mma_dfer.audiomae` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.audiomae import audiomae_vit_base

__all__ = ["audiomae_vit_base"]
