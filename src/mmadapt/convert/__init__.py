"""Moved to :mod:`mmadapt.methods.mma_dfer.convert` (the MMA-DFER wing); this path re-exports it."""

# The old submodules load first: importing one later would bind its name on this package, and the modules
# ``from_official`` / ``to_official`` would shadow the functions of the same name.
from . import _build, architecture, directory, from_official, layout, reader, to_official  # noqa: F401
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
