"""The window schedule covers the whole video with full-length windows, ``stride`` apart except the last."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.errors import ConfigError
from mmadapt.timeline import window_schedule

durations = st.floats(min_value=0.05, max_value=120.0, allow_nan=False)
windows = st.floats(min_value=0.1, max_value=10.0)
fractions = st.floats(min_value=0.1, max_value=1.0)


@settings(deadline=None)
@given(durations, windows, fractions)
def test_windows_cover_the_video_stride_apart(duration, window, fraction):
    stride = window * fraction
    spans = window_schedule(duration, window, stride)
    assert spans[0].start == 0.0
    assert math.isclose(spans[-1].end, duration, rel_tol=0, abs_tol=1e-9)
    assert [w.index for w in spans] == list(range(len(spans)))
    for w in spans:
        assert 0.0 <= w.start < w.end <= duration + 1e-9
        assert math.isclose(w.end - w.start, min(window, duration), abs_tol=1e-9)  # every window has full length
    for a, b in zip(spans, spans[1:]):
        assert b.start <= a.end + 1e-9  # no gap
        assert 0 < b.start - a.start <= stride + 1e-9
    for a, b in zip(spans[:-2], spans[1:-1]):
        assert math.isclose(b.start - a.start, stride, abs_tol=1e-9)  # only the last step may be shorter


@given(durations, windows)
def test_a_video_shorter_than_a_window_is_one_window(duration, window):
    if duration > window:
        duration, window = window, duration
    spans = window_schedule(duration, window, window / 2)
    assert [(w.start, w.end) for w in spans] == [(0.0, duration)]


def test_the_last_window_is_aligned_to_the_end():
    assert [(w.start, w.end) for w in window_schedule(5.3, 2.0, 1.0)] == [
        (0.0, 2.0),
        (1.0, 3.0),
        (2.0, 4.0),
        (3.0, 5.0),
        (3.3, 5.3),
    ]
    assert [(w.start, w.end) for w in window_schedule(0.3, 0.1, 0.1)] == [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3)]


@pytest.mark.parametrize(
    ("duration", "window", "stride", "problem"),
    [(0.0, 1.0, 0.5, "duration"), (float("nan"), 1.0, 0.5, "duration"), (3.0, 1.0, 2.0, "stride"), (3, 0, 0, "window")],
)
def test_bad_schedules_are_refused_naming_the_problem(duration, window, stride, problem):
    with pytest.raises(ConfigError, match=problem):
        window_schedule(duration, window, stride)
