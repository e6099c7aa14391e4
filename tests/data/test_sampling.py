"""Frame-index sampling follows the official segment rules."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.data import sampling
from mmadapt.errors import ConfigError


def official_test_rule(num_frames: int, segments: int) -> list[int]:
    """The official test indices, written as the reference code computes them."""
    if num_frames > segments:
        tick = num_frames / float(segments)
        return [int(tick / 2.0 + tick * x) for x in range(segments)]
    return list(range(num_frames)) + [num_frames - 1] * (segments - num_frames)


@settings(max_examples=60, deadline=None)
@given(num_frames=st.integers(1, 400), segments=st.integers(1, 32))
def test_test_indices_equal_the_official_rule(num_frames: int, segments: int) -> None:
    assert sampling.test_indices(num_frames, segments) == [official_test_rule(num_frames, segments)]


def test_known_values() -> None:
    assert sampling.test_indices(32, 16) == [[1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31]]
    assert sampling.test_indices(5, 8) == [[0, 1, 2, 3, 4, 4, 4, 4]]
    assert sampling.test_indices(8, 8) == [list(range(8))]
    assert sampling.train_indices(8, 8, torch.Generator().manual_seed(0)) == list(range(8))
    assert sampling.train_indices(3, 5, random.Random(0)) == [0, 1, 2, 2, 2]


@settings(max_examples=60, deadline=None)
@given(num_frames=st.integers(1, 400), segments=st.integers(1, 32), seed=st.integers(0, 2**31))
def test_train_indices_pick_one_frame_per_segment(num_frames: int, segments: int, seed: int) -> None:
    indices = sampling.train_indices(num_frames, segments, torch.Generator().manual_seed(seed))
    assert len(indices) == segments
    seg_len = num_frames // segments
    if seg_len == 0:
        assert indices == official_test_rule(num_frames, segments)  # the shared padded order
    else:
        assert all(i * seg_len <= idx < (i + 1) * seg_len for i, idx in enumerate(indices))


def test_train_offsets_cover_each_segment_uniformly() -> None:
    gen = torch.Generator().manual_seed(1)
    counts = torch.zeros(3)
    for _ in range(300):
        idx = torch.tensor(sampling.train_indices(48, 16, gen))  # segments of 3 frames
        counts += torch.bincount(idx - torch.arange(16) * 3, minlength=3)
    share = counts / counts.sum()
    assert torch.all((share - 1 / 3).abs() < 0.03), share


@pytest.mark.parametrize("make_rng", [lambda: torch.Generator().manual_seed(7), lambda: random.Random(7)])
def test_train_indices_are_reproducible_per_seed(make_rng) -> None:  # type: ignore[no-untyped-def]
    a, b = make_rng(), make_rng()
    runs_a = [sampling.train_indices(100, 16, a) for _ in range(3)]
    runs_b = [sampling.train_indices(100, 16, b) for _ in range(3)]
    assert runs_a == runs_b
    assert len({tuple(r) for r in runs_a}) > 1  # the stream advances


@settings(max_examples=40, deadline=None)
@given(num_frames=st.integers(1, 300), segments=st.integers(1, 20), clips=st.integers(1, 4))
def test_multi_clip_views_stay_in_their_segments(num_frames: int, segments: int, clips: int) -> None:
    views = sampling.test_indices(num_frames, segments, clips)
    assert len(views) == clips and all(len(v) == segments for v in views)
    if num_frames > segments:
        tick = num_frames / segments
        for view in views:
            assert all(int(i * tick) <= idx < (i + 1) * tick + 1e-9 for i, idx in enumerate(view))
            assert all(0 <= idx < num_frames for idx in view)


def test_two_clip_views_are_offset_quarter_ticks() -> None:
    first, second = sampling.test_indices(64, 16, num_clips=2)
    assert first == [int(4 * 0.25 + 4 * i) for i in range(16)]
    assert second == [int(4 * 0.75 + 4 * i) for i in range(16)]


@pytest.mark.parametrize(("num_frames", "segments", "clips"), [(0, 16, 1), (10, 0, 1), (10, 16, 0)])
def test_invalid_arguments(num_frames: int, segments: int, clips: int) -> None:
    with pytest.raises(ConfigError):
        sampling.test_indices(num_frames, segments, clips)
    if clips:
        with pytest.raises(ConfigError):
            sampling.train_indices(num_frames, segments)
