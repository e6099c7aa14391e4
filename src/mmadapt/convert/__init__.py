"""Moved to :mod:`mmadapt.methods.mma_dfer.convert` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert import (
    ConversionReport,
    ConversionResult,
    Dropped,
    EncoderShape,
    OfficialArchitecture,
    OfficialLayout,
    OfficialSource,
    Part,
    Route,
    build_layout,
    from_official,
    load_converted,
    read_official,
    save_converted,
    to_official,
)

__all__ = [
    "ConversionReport",
    "ConversionResult",
    "Dropped",
    "EncoderShape",
    "OfficialArchitecture",
    "OfficialLayout",
    "OfficialSource",
    "Part",
    "Route",
    "build_layout",
    "from_official",
    "load_converted",
    "read_official",
    "save_converted",
    "to_official",
]
