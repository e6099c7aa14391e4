"""Which frames of a clip the model sees: the official segment-based sampling (TSN style, one frame per segment).

Train: the clip is cut into ``num_segments`` equal segments of ``n // T`` frames and one random frame is drawn
from each; clips with fewer frames than segments are played once and padded with their last frame.
Test: the middle frame of each of ``T`` equal segments (``int(tick / 2 + tick * i)``, ``tick = n / T``), or
the padded sequence when ``n <= T``. ``test_indices(..., num_clips=K)`` also gives K evenly offset views per
segment (offsets ``(k + 1/2) / K`` of a tick) whose predictions a caller may average; K = 1 is the official rule.

The caller owns randomness: pass a ``torch.Generator`` or ``random.Random``; None uses torch's global RNG
(which DataLoader seeds per worker).
"""

from __future__ import annotations

from ..errors import ConfigError
from ._rng import Rng, randint

__all__ = ["Rng", "padded_indices", "test_indices", "train_indices"]


def _check(num_frames: int, num_segments: int) -> None:
    if num_frames < 1:
        raise ConfigError(f"a clip needs at least one frame, got num_frames={num_frames}")
    if num_segments < 1:
        raise ConfigError(f"num_segments must be >= 1, got {num_segments}")


def padded_indices(num_frames: int, num_segments: int) -> list[int]:
    """0..n-1 followed by the last index until there are ``num_segments`` entries (short clips)."""
    _check(num_frames, num_segments)
    played = list(range(min(num_frames, num_segments)))
    return played + [num_frames - 1] * (num_segments - len(played))


def train_indices(num_frames: int, num_segments: int = 16, rng: Rng = None) -> list[int]:
    """One random frame per segment (segment length ``n // T``); padded order when ``n < T``."""
    _check(num_frames, num_segments)
    seg_len = num_frames // num_segments
    if seg_len == 0:
        return padded_indices(num_frames, num_segments)
    offsets = randint(seg_len, num_segments, rng)
    return [i * seg_len + off for i, off in enumerate(offsets)]


def test_indices(num_frames: int, num_segments: int = 16, num_clips: int = 1) -> list[list[int]]:
    """Deterministic views: ``num_clips`` lists of ``num_segments`` indices (clip 0 of K=1 = official rule)."""
    _check(num_frames, num_segments)
    if num_clips < 1:
        raise ConfigError(f"num_clips must be >= 1, got {num_clips}")
    if num_frames <= num_segments:
        return [padded_indices(num_frames, num_segments) for _ in range(num_clips)]
    tick = num_frames / num_segments
    return [[int(tick * (k + 0.5) / num_clips + tick * i) for i in range(num_segments)] for k in range(num_clips)]


test_indices.__test__ = False  # type: ignore[attr-defined]  # a sampling rule, not a pytest test
