"""Moved to :mod:`mmadapt.methods.mma_dfer.convert._build` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert._build import *  # noqa: F403  (its __all__, listed once there)
from ..methods.mma_dfer.convert._build import __all__  # noqa: F401
