"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.reader` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.reader import *  # noqa: F403  (its __all__, listed once there)
from ..methods.mma_dfer.convert.reader import __all__  # noqa: F401
