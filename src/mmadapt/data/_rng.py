"""Draws from the caller's RNG: a ``torch.Generator``, a ``random.Random``, or None (torch's global RNG)."""

from __future__ import annotations

import random

import torch

Rng = torch.Generator | random.Random | None


def randint(high: int, size: int, rng: Rng) -> list[int]:
    """``size`` integers uniform in [0, high)."""
    if isinstance(rng, random.Random):
        return [rng.randrange(high) for _ in range(size)]
    return torch.randint(high, (size,), generator=rng).tolist()


def uniform(low: float, high: float, rng: Rng) -> float:
    """One float uniform in [low, high)."""
    if isinstance(rng, random.Random):
        return rng.uniform(low, high)
    return low + (high - low) * float(torch.rand((), generator=rng))
