"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.architecture` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.architecture import *  # noqa: F403  (its __all__, listed once there)
from ..methods.mma_dfer.convert.architecture import __all__  # noqa: F401
