"""The window schedule over a video: which [start, end) spans of seconds become one clip each.

Rule: windows of ``window`` seconds start at 0, ``stride``, ``2 * stride`` ... as long as they fit inside
``[0, duration]``; when the last of them ends before ``duration``, one more window is added, aligned to end at
``duration`` (so it overlaps its predecessor by more than the others do), so every window has the full length and
every instant is covered. A video shorter than one window gives a single window ``[0, duration]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["Window", "window_schedule"]

_EPS = 1e-9  # seconds: float slack so that 0.1 * 3 counts as fitting into 0.3


@dataclass(frozen=True)
class Window:
    """One span of the timeline, in seconds from the first video frame."""

    index: int
    start: float
    end: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.start + self.end)


def window_schedule(duration: float, window: float, stride: float) -> list[Window]:
    """Windows covering ``[0, duration]`` (see the module docstring for the rule)."""
    if not (math.isfinite(duration) and duration > 0):
        raise ConfigError(f"duration must be a positive number of seconds, got {duration}")
    if not window > 0 or not 0 < stride <= window:
        raise ConfigError(f"need window > 0 and 0 < stride <= window, got window={window}, stride={stride}")
    if duration <= window + _EPS:
        return [Window(0, 0.0, float(duration))]
    count = math.floor((duration - window) / stride + _EPS) + 1
    spans = [(k * stride, min(k * stride + window, duration)) for k in range(count)]  # min: float round-off
    if spans[-1][1] < duration - _EPS:
        spans.append((duration - window, float(duration)))
    return [Window(i, float(s), float(e)) for i, (s, e) in enumerate(spans)]
