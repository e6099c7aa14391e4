"""Moving a stream between its per-image layout and per-clip views (the fusion kinds' shared reshapes).

Legend: n clips, T frames per clip (1 for a per-clip stream), N tokens per image, D width.
"""

from __future__ import annotations

import torch

__all__ = ["clip_mean", "clip_tokens", "to_every_token"]


def clip_tokens(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(n·T, N, D) clip-major -> (n, T·N, D): every token of a clip's frames in one sequence."""
    return x.reshape(x.shape[0] // frames, frames * x.shape[1], x.shape[2])


def clip_mean(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(n·T, N, D) -> (n, 1, D): the mean over a clip's frames first, then over its tokens."""
    if frames > 1:
        x = x.reshape(x.shape[0] // frames, frames, *x.shape[1:]).mean(dim=1)  # (n, N, D)
    return x.mean(dim=1, keepdim=True)


def to_every_token(clip: torch.Tensor, like: torch.Tensor, frames: int) -> torch.Tensor:
    """A per-clip (n, 1, D) tensor on every frame and token of ``like`` (n·T, N, D); the token axis is a stride-0
    expansion, so only n·T rows are materialised."""
    rows = clip if frames == 1 else clip.repeat_interleave(frames, dim=0)  # (n·T, 1, D), clip-major
    return rows.expand(-1, like.shape[1], -1)
