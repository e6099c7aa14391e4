"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.reader` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.reader import INERT_GLOBALS, OfficialSource, read_official

__all__ = ["INERT_GLOBALS", "OfficialSource", "read_official"]
