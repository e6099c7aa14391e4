"""resample_grid_pos_embed follows the official MMA-DFER semantics (bicubic, no antialias, prefix kept)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from timm.layers import resample_abs_pos_embed

from mmadapt.pos_embed import infer_grid, resample_grid_pos_embed

from ._fixtures import reference_resample


def test_audiomae_time_resize_matches_direct_interpolation():
    pos = torch.randn(1, 1 + 64 * 8, 24)
    out = resample_grid_pos_embed(pos, (64, 8), (32, 8))
    assert out.shape == (1, 1 + 32 * 8, 24)
    torch.testing.assert_close(out, reference_resample(pos, (64, 8), (32, 8)), rtol=0, atol=0)
    assert torch.equal(out[:, 0], pos[:, 0])


def test_no_antialias_when_downsampling():
    pos = torch.randn(1, 1 + 64 * 8, 4)
    grid = pos[:, 1:].reshape(1, 64, 8, 4).permute(0, 3, 1, 2)
    smoothed = F.interpolate(grid, size=(32, 8), mode="bicubic", align_corners=False, antialias=True)
    out = resample_grid_pos_embed(pos, (64, 8), (32, 8))[:, 1:].reshape(1, 32, 8, 4).permute(0, 3, 1, 2)
    assert not torch.allclose(out, smoothed, atol=1e-3)


def test_layout_is_time_major():
    """A grid whose value is the frequency index must keep it per token after a time-only resize."""
    freq = torch.arange(8, dtype=torch.float32)
    grid = freq.repeat(64)[None, :, None]  # token 1 + 8*t + f holds f
    pos = torch.cat([torch.full((1, 1, 1), -1.0), grid], dim=1)
    out = resample_grid_pos_embed(pos, (64, 8), (32, 8))
    torch.testing.assert_close(out[0, 1:, 0], freq.repeat(32), rtol=0, atol=1e-5)
    assert out[0, 0, 0] == -1.0


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), prefix=st.integers(0, 2), width=st.integers(1, 5))
def test_same_grid_is_identity(h, w, prefix, width):
    pos = torch.randn(1, prefix + h * w, width)
    out = resample_grid_pos_embed(pos, (h, w), (h, w), num_prefix_tokens=prefix)
    assert torch.equal(out, pos)
    assert out.data_ptr() != pos.data_ptr()


@settings(max_examples=25, deadline=None)
@given(
    old=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    new=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    prefix=st.integers(0, 2),
)
def test_agrees_with_timm_without_antialias(old, new, prefix):
    pos = torch.randn(1, prefix + old[0] * old[1], 3)
    ours = resample_grid_pos_embed(pos, old, new, num_prefix_tokens=prefix)
    theirs = resample_abs_pos_embed(pos, list(new), list(old), num_prefix_tokens=prefix, antialias=False)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert torch.equal(ours[:, :prefix], pos[:, :prefix])


def test_constant_grid_stays_constant():
    pos = torch.full((1, 1 + 14 * 14, 2), 0.25)
    out = resample_grid_pos_embed(pos, (14, 14), (10, 10))
    torch.testing.assert_close(out, torch.full((1, 101, 2), 0.25), rtol=0, atol=1e-6)


def test_keeps_dtype():
    pos = torch.randn(1, 1 + 16, 4, dtype=torch.bfloat16)
    assert resample_grid_pos_embed(pos, (4, 4), (2, 2)).dtype == torch.bfloat16


@pytest.mark.parametrize(
    ("shape", "old", "prefix", "match"),
    [
        ((1, 10, 4), (3, 3), 2, "2 prefix tokens"),
        ((1, 10, 4), (3, 4), 1, "need 13"),
        ((2, 10, 4), (3, 3), 1, r"\(1, tokens, width\)"),
    ],
)
def test_bad_inputs_are_named(shape, old, prefix, match):
    with pytest.raises(ValueError, match=match):
        resample_grid_pos_embed(torch.zeros(shape), old, (2, 2), num_prefix_tokens=prefix)


def test_bad_grid_rejected():
    with pytest.raises(ValueError, match="new_grid"):
        resample_grid_pos_embed(torch.zeros(1, 5, 2), (2, 2), (0, 2))


def test_infer_grid():
    assert infer_grid(196) == (14, 14)
    assert infer_grid(512, cols=8) == (64, 8)
    with pytest.raises(ValueError, match="square"):
        infer_grid(512)
    with pytest.raises(ValueError, match="columns"):
        infer_grid(500, cols=8)
