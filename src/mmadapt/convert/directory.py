"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.directory` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.directory import *  # noqa: F403  (its __all__, listed once there)
from ..methods.mma_dfer.convert.directory import __all__  # noqa: F401
