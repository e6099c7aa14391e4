"""Moved to :mod:`mmadapt.methods.mma_dfer.convert.architecture` (the MMA-DFER wing); this path re-exports it."""

from ..methods.mma_dfer.convert.architecture import (
    HEAD_WIDTH,
    STREAM_LAYOUT,
    EncoderShape,
    OfficialArchitecture,
    StreamLayout,
    head_rows_from,
)

__all__ = [
    "HEAD_WIDTH",
    "STREAM_LAYOUT",
    "EncoderShape",
    "OfficialArchitecture",
    "StreamLayout",
    "head_rows_from",
]
