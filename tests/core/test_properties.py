"""Invariants over random batch sizes, frame counts, input sizes, prompt counts and schedules."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmadapt

from .backbones import timm_vit
from .helpers import SMALL_HEAD, randomise_gates

pytestmark = pytest.mark.filterwarnings("ignore:PromptConfig.schedule updates prompts after the last block")
_settings = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def setups(draw):
    depth_a = draw(st.integers(1, 4))
    depth_v = draw(st.integers(1, 4))
    num_prompts = draw(st.integers(1, 6))
    per = draw(st.integers(1, num_prompts))
    max_block = min(depth_a, depth_v) - 1
    blocks = draw(st.lists(st.integers(0, max(max_block - 1, 0)), max_size=num_prompts // per, unique=True))
    schedule = {b: per for b in blocks} or None
    return dict(
        depth_a=depth_a,
        depth_v=depth_v,
        prompts=draw(st.sampled_from([None, {"num_prompts": num_prompts, "schedule": schedule, "num_updates": 0}])),
        n=draw(st.integers(1, 3)),
        t=draw(st.integers(1, SMALL_HEAD["max_frames"])),
        video_size=draw(st.sampled_from([16, 24, 32, 40])),
        frames=draw(st.sampled_from([32, 48, 64])),
    )


def _build(s):
    torch.manual_seed(0)
    audio, _ = timm_vit(1, size=(64, 32), depth=s["depth_a"], embed_dim=32, num_heads=2)
    video, _ = timm_vit(3, size=(32, 32), depth=s["depth_v"], embed_dim=24, num_heads=2)
    model = mmadapt.wrap_encoders(
        audio,
        video,
        num_classes=3,
        head=SMALL_HEAD,
        prompts=s["prompts"],
        input_sizes={"video": s["video_size"], "audio": (s["frames"], 32)},
    ).eval()
    g = torch.Generator().manual_seed(1)
    video_in = torch.randn(s["n"], s["t"], 3, s["video_size"], s["video_size"], generator=g)
    audio_in = torch.randn(s["n"], 1, s["frames"], 32, generator=g)
    return model, video_in, audio_in


@_settings
@given(setups())
def test_shapes_and_finite_outputs(s):
    model, vid, aud = _build(s)
    randomise_gates(model)
    with torch.no_grad():
        logits, inter = model(vid, aud, return_intermediates=True)
        feats = model.forward_features(vid, aud)
    assert logits.shape == (s["n"], 3)
    assert feats.shape == (s["n"], SMALL_HEAD["dim"])
    assert torch.isfinite(logits).all()
    assert len(inter["audio"]) == s["depth_a"] and len(inter["video"]) == s["depth_v"]
    assert inter["video"][0].shape == (s["n"], s["t"], 24)
    assert len(model.fusion) == min(s["depth_a"], s["depth_v"])


@_settings
@given(setups())
def test_zero_gates_keep_the_streams_independent(s):
    """With zero gates nothing crosses between modalities: each stream ignores the other's input."""
    model, vid, aud = _build(s)
    with torch.no_grad():
        base = model.forward_streams(vid, aud)
        other = model.forward_streams(vid, torch.randn_like(aud))
        other_v = model.forward_streams(torch.randn_like(vid), aud)
    assert torch.equal(base.pooled["video"], other.pooled["video"])
    assert torch.equal(base.pooled["audio"], other_v.pooled["audio"])


@_settings
@given(setups())
def test_clips_do_not_leak_into_each_other(s):
    """Fusion pairs each clip's frames with its own audio: clip 0 does not depend on clip 1's inputs."""
    model, vid, aud = _build(s)
    randomise_gates(model)
    if s["n"] < 2:
        return
    with torch.no_grad():
        base = model(vid, aud)
        vid2, aud2 = vid.clone(), aud.clone()
        vid2[1:] = torch.randn_like(vid2[1:])
        aud2[1:] = torch.randn_like(aud2[1:])
        changed = model(vid2, aud2)
    assert torch.allclose(base[0], changed[0], atol=1e-6)
