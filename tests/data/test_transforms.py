"""Clip transforms: one operation per clip, values in [0, 1], reproducible under a seed."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.data.transforms import ClipTransform, TransformConfig, random_resized_crop_box
from mmadapt.errors import ConfigError, InputShapeError


def make_clip(frames: int = 4, height: int = 40, width: int = 56, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(frames, height, width, 3), dtype=np.uint8)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_test_mode_is_a_plain_resize() -> None:
    clip = make_clip()
    out = ClipTransform(TransformConfig(img_size=24))(clip)
    assert out.shape == (4, 3, 24, 24) and out.dtype == torch.float32
    x = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255
    want = F.interpolate(x, size=(24, 24), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    torch.testing.assert_close(out, want)
    same = ClipTransform(TransformConfig(img_size=40))(make_clip(height=40, width=40))
    torch.testing.assert_close(same * 255, torch.from_numpy(make_clip(height=40, width=40)).permute(0, 3, 1, 2).float())


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_every_frame_gets_the_same_operation(seed: int) -> None:
    clip = make_clip(seed=seed % 7)
    transform = ClipTransform(TransformConfig(img_size=16), train=True)
    whole = transform(clip, gen(seed))
    for k in range(len(clip)):  # the draws are per clip, so frame k alone under the same seed matches
        torch.testing.assert_close(whole[k], transform(clip[k : k + 1], gen(seed))[0])
    assert whole.min() >= 0.0 and whole.max() <= 1.0


def test_identical_frames_stay_identical_in_training() -> None:
    clip = np.repeat(make_clip(frames=1), 6, axis=0)
    out = ClipTransform(TransformConfig(img_size=16), train=True)(clip, gen(5))
    assert all(torch.equal(out[0], frame) for frame in out)


def test_seed_determinism_and_variety() -> None:
    clip = make_clip()
    transform = ClipTransform(TransformConfig(img_size=16), train=True)
    torch.testing.assert_close(transform(clip, gen(11)), transform(clip, gen(11)), rtol=0, atol=0)
    outs = {transform(clip, gen(s)).sum().item() for s in range(8)}
    assert len(outs) == 8


def test_brightness_scales_all_pixels_by_one_factor() -> None:
    clip = make_clip(height=16, width=16)
    cfg = TransformConfig(img_size=16, crop_scale=None, flip_p=0.0)
    out = ClipTransform(cfg, train=True)(clip, gen(3))
    x = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255
    ok = (out < 1.0) & (x > 0.05)  # not clipped, not tiny
    ratios = out[ok] / x[ok]
    assert 0.5 <= ratios.mean().item() <= 1.5
    torch.testing.assert_close(ratios, torch.full_like(ratios, ratios.mean().item()), atol=1e-5, rtol=1e-5)


def test_flip_mirrors_the_clip() -> None:
    clip = make_clip(height=16, width=16)
    cfg = TransformConfig(img_size=16, brightness=None, crop_scale=None, flip_p=1.0)
    out = ClipTransform(cfg, train=True)(clip, gen(0))
    torch.testing.assert_close(out, ClipTransform(cfg)(clip).flip(-1))


def test_mean_std_normalisation() -> None:
    clip = make_clip()
    cfg = TransformConfig(img_size=8, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.5))
    plain = ClipTransform(TransformConfig(img_size=8))(clip)
    mean, std = torch.tensor(cfg.mean).view(1, 3, 1, 1), torch.tensor(cfg.std).view(1, 3, 1, 1)
    torch.testing.assert_close(ClipTransform(cfg)(clip), (plain - mean) / std)


@settings(max_examples=60, deadline=None)
@given(height=st.integers(1, 300), width=st.integers(1, 300), seed=st.integers(0, 2**31))
def test_crop_boxes_lie_inside_and_respect_ranges(height: int, width: int, seed: int) -> None:
    scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
    top, left, h, w = random_resized_crop_box(height, width, scale, ratio, gen(seed))
    assert 0 <= top and 0 <= left and 0 < h and 0 < w and top + h <= height and left + w <= width
    centred = (top, left) == ((height - h) // 2, (width - w) // 2)
    if not centred and h > 3 and w > 3:  # a random box: aspect and area within range up to rounding
        assert ratio[0] * (1 - 1 / h) - 1 / h <= w / h <= ratio[1] * (1 + 1 / h) + 1 / h
        assert h * w <= height * width


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [(10, 100, (0, 43, 10, 13)), (100, 10, (43, 0, 13, 10)), (30, 30, (0, 0, 30, 30))],
)
def test_crop_fallback_is_a_centred_clamped_box(height: int, width: int, expected: tuple[int, ...]) -> None:
    assert random_resized_crop_box(height, width, (0.08, 1.0), (3 / 4, 4 / 3), gen(0), attempts=0) == expected
    assert expected[3] / expected[2] == pytest.approx(min(max(width / height, 3 / 4), 4 / 3), rel=0.1)


def test_crop_area_distribution_matches_scale_range() -> None:
    g = gen(0)
    areas = [
        math.prod(random_resized_crop_box(200, 200, (0.08, 1.0), (3 / 4, 4 / 3), g)[2:]) / 40_000 for _ in range(400)
    ]
    assert 0.07 <= min(areas) and max(areas) <= 1.0
    assert 0.45 < float(np.mean(areas)) < 0.6  # U(0.08, 1) has mean 0.54 (boxes that do not fit are redrawn)


def test_bad_inputs_and_configs() -> None:
    with pytest.raises(InputShapeError, match="uint8"):
        ClipTransform()(make_clip().astype(np.float32))
    with pytest.raises(InputShapeError, match=r"\(T, H, W, 3\)"):
        ClipTransform()(make_clip()[..., :2])
    for bad in (
        {"img_size": 0},
        {"brightness": (1.5, 0.5)},
        {"crop_scale": (0.0, 1.5)},
        {"flip_p": 2.0},
        {"mean": (0.5,) * 3},
    ):
        with pytest.raises(ConfigError):
            TransformConfig(**bad)  # type: ignore[arg-type]
