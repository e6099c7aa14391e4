"""Converted models compute the official MMA-DFER logits (fp32, eval, non-zero fusion gates)."""

import pytest
import torch

from mmadapt.methods.mma_dfer.convert import from_official

from ..official._keys import official_state_dict, parse_official_keys
from ._helpers import FULL, TINY, TOL, inputs, reference_logits, tiny_state_dict

FEW_FRAMES = 2  # full-width runs on the CPU; the temporal table covers any T <= 16


def _gates_matter(model, video, audio, logits):
    """Zeroing the fusion gates must move the logits far beyond the tolerance (the comparison can fail)."""
    with torch.no_grad():
        saved = [(f.gate["audio"].clone(), f.gate["video"].clone()) for f in model.fusion]
        for f in model.fusion:
            f.gate["audio"].zero_()
            f.gate["video"].zero_()
        ungated = model(video, audio)
        for f, (a, v) in zip(model.fusion, saved):
            f.gate["audio"].copy_(a)
            f.gate["video"].copy_(v)
    return (ungated - logits).abs().max().item() > 10 * TOL


def test_full_width_112_matches_reference(full_112):
    sd, result = full_112
    video, audio = inputs(112, FEW_FRAMES)
    with torch.no_grad():
        ours = result.model(video, audio)
    ref = reference_logits(sd, video, audio, 112, FULL)
    assert ours.shape == (1, 7)
    assert (ours - ref).abs().max().item() < TOL


@pytest.mark.parametrize(("img_size", "t"), [(112, 16), (160, 4), (224, 4)])
def test_tiny_width_all_sizes_match_reference(img_size, t):
    """The three official frame sizes on the same layout with small widths, once at the official clip length
    (T = 16, the full temporal table)."""
    sd = tiny_state_dict(img_size, seed=img_size)
    model = from_official(sd, img_size, 7, **TINY).model
    video, audio = inputs(img_size, t)
    with torch.no_grad():
        ours = model(video, audio)
    ref = reference_logits(sd, video, audio, img_size, TINY)
    assert (ours - ref).abs().max().item() < TOL
    assert _gates_matter(model, video, audio, ours)


def test_trainable_counts_are_official_minus_dead_norms(full_112):
    """Official rule (section 4) trainable = ours + the 2,048 never-used norm2 values; the heads are not kept."""
    specs = parse_official_keys(112)
    dead = sum(torch.Size(s.shape).numel() for s in specs if ".norm2." in s.key and s.key.startswith("temporal_net"))
    heads = sum(torch.Size(s.shape).numel() for s in specs if s.key.endswith((".head.weight", ".head.bias")))
    trainable = sum(torch.Size(s.shape).numel() for s in specs if s.trainable)
    total = sum(torch.Size(s.shape).numel() for s in specs)
    assert dead == 2_048 and trainable == 7_519_519
    assert full_112[1].model.get_nb_trainable_parameters() == (trainable - dead, total - dead - heads)


@pytest.mark.slow
def test_full_width_224_matches_reference():
    sd = official_state_dict(224, seed=3)
    model = from_official(sd, 224, 7).model
    video, audio = inputs(224, FEW_FRAMES)
    with torch.no_grad():
        ours = model(video, audio)
    assert (ours - reference_logits(sd, video, audio, 224, FULL)).abs().max().item() < TOL
