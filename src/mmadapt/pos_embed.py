"""Resampling of learned absolute position embeddings laid out on a patch grid.

Pre-trained ViTs store one embedding per patch of the grid they were trained on; a model built for another
input size needs the grid interpolated. The semantics follow the MMA-DFER / AudioMAE loaders: prefix rows
(CLS, registers) are kept as they are, the grid is interpolated bicubically with ``align_corners=False`` and
no antialiasing, and the result is flattened back row-major (first grid axis outermost; for spectrograms the
first axis is time, so tokens are time-major).

Shape legend: D width, H x W patch grid, X prefix tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["infer_grid", "resample_grid_pos_embed"]


def _as_grid(grid: Sequence[int], name: str) -> tuple[int, int]:
    if len(grid) != 2 or any(int(g) != g or g <= 0 for g in grid):
        raise ValueError(f"{name} must be two positive integers (rows, cols), got {tuple(grid)}")
    return int(grid[0]), int(grid[1])


def resample_grid_pos_embed(
    pos_embed: torch.Tensor,
    old_grid: Sequence[int],
    new_grid: Sequence[int],
    num_prefix_tokens: int = 1,
) -> torch.Tensor:
    """Resize ``pos_embed`` (1, X + H*W, D) from ``old_grid`` (H, W) to ``new_grid``.

    The interpolation always runs (no early exit), so equal grids return the same values by the bicubic
    kernel's own identity. Computation is in float32; the result has the input's dtype and a fresh storage.
    """
    old_h, old_w = _as_grid(old_grid, "old_grid")
    new_h, new_w = _as_grid(new_grid, "new_grid")
    if num_prefix_tokens < 0:
        raise ValueError(f"num_prefix_tokens must be >= 0, got {num_prefix_tokens}")
    if pos_embed.ndim != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f"pos_embed must have shape (1, tokens, width), got {tuple(pos_embed.shape)}")
    expected = num_prefix_tokens + old_h * old_w
    if pos_embed.shape[1] != expected:
        raise ValueError(
            f"pos_embed has {pos_embed.shape[1]} tokens but {num_prefix_tokens} prefix tokens + a "
            f"{old_h}x{old_w} grid need {expected}"
        )
    width = pos_embed.shape[2]
    prefix = pos_embed[:, :num_prefix_tokens]  # (1, X, D)
    grid = pos_embed[:, num_prefix_tokens:].float()  # (1, H*W, D)
    grid = grid.reshape(1, old_h, old_w, width).permute(0, 3, 1, 2)  # (1, D, H, W)
    grid = F.interpolate(grid, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=False)
    grid = grid.permute(0, 2, 3, 1).reshape(1, new_h * new_w, width)  # (1, H'*W', D), row-major
    return torch.cat([prefix, grid.to(pos_embed.dtype)], dim=1).contiguous()


def infer_grid(num_grid_tokens: int, *, cols: int | None = None) -> tuple[int, int]:
    """Guess the (rows, cols) grid of ``num_grid_tokens`` patch embeddings.

    With ``cols`` given (e.g. the mel-bin axis of a spectrogram, which keeps its size across checkpoints)
    the rows follow from it; otherwise the grid must be square.
    """
    if num_grid_tokens <= 0:
        raise ValueError(f"a position grid needs at least one token, got {num_grid_tokens}")
    if cols is not None:
        if cols <= 0 or num_grid_tokens % cols:
            raise ValueError(f"{num_grid_tokens} grid tokens cannot form rows of {cols} columns")
        return num_grid_tokens // cols, cols
    side = math.isqrt(num_grid_tokens)
    if side * side != num_grid_tokens:
        raise ValueError(
            f"{num_grid_tokens} grid tokens do not form a square grid; pass the checkpoint's grid explicitly"
        )
    return side, side
