"""Moved to :mod:`mmadapt.pos_embed` (generic: the anatomies resample position tables too, and must not import
``backbones``); this path re-exports it."""

from ..pos_embed import infer_grid, resample_grid_pos_embed

__all__ = ["infer_grid", "resample_grid_pos_embed"]
