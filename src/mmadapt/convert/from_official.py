"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.from_official` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.from_official import (
    EXTRAS_ATTR,
    ConversionReport,
    ConversionResult,
    from_official,
)

__all__ = [
    "EXTRAS_ATTR",
    "ConversionReport",
    "ConversionResult",
    "from_official",
]
