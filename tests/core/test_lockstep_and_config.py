"""Lockstep plans for encoders of different depths, layer maps, presets and config round-trips."""

from __future__ import annotations

import json

import pytest
import torch

import mmadapt
from mmadapt import ConfigError, FusionConfig, MultimodalConfig
from mmadapt.lockstep import Step, build_plan

from .backbones import timm_vit
from .helpers import SMALL_HEAD, make_inputs, randomise_gates


def test_default_layer_map_matches_blocks_proportionally():
    assert FusionConfig().resolve_layer_map(12, 12) == [(i, i) for i in range(12)]
    assert FusionConfig().resolve_layer_map(2, 4) == [(0, 1), (1, 3)]
    assert FusionConfig().resolve_layer_map(6, 3) == [(1, 0), (3, 1), (5, 2)]
    with pytest.raises(ConfigError, match="outside the encoders' depths"):
        FusionConfig(layer_map=[(0, 9)]).resolve_layer_map(2, 4)
    with pytest.raises(ConfigError, match="increase strictly"):
        FusionConfig(layer_map=[(1, 1), (0, 2)]).resolve_layer_map(2, 4)


def test_plan_runs_every_block_once_and_updates_after_fusion():
    plan = build_plan(2, 4, [(0, 1), (1, 3)], {0: 3}, {1: 3})
    assert plan == [
        Step("audio", 0), Step("video", 0), Step("video", 1), Step("fuse", 0), Step("audio_prompt", 0),
        Step("video_prompt", 1), Step("audio", 1), Step("video", 2), Step("video", 3), Step("fuse", 1),
    ]


def test_different_depths_and_widths_run_and_train():
    torch.manual_seed(0)
    audio, a_shape = timm_vit(1, size=(64, 32), depth=2, embed_dim=48, num_heads=3)
    video, v_shape = timm_vit(3, depth=4, embed_dim=32, num_heads=2)
    model = mmadapt.wrap_encoders(audio, video, num_classes=4, head=SMALL_HEAD, fusion={"layer_map": [(1, 3)]})
    assert model.layer_map == [(1, 3)]
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    model(vid, aud).sum().backward()
    assert model.fusion[0].audio_down[0].weight.grad.abs().sum() > 0


def test_presets_registry_and_table4_rows():
    names = mmadapt.list_presets("mma-*")
    assert "mma-dfer" in names and len(names) == 8
    torch.manual_seed(0)
    audio, _ = timm_vit(1, size=(64, 32))
    video, _ = timm_vit(3)
    a, v = mmadapt.resolve_anatomy(audio), mmadapt.resolve_anatomy(video)
    rows = {
        "mma-dfer-plain": (False, False, False, False),
        "mma-dfer-prompts-only": (True, False, False, False),
        "mma-dfer-progressive-only": (True, True, False, False),
        "mma-dfer-no-fusion": (True, True, True, False),
        "mma-dfer-no-temporal": (True, True, False, True),
        "mma-dfer-no-prompts": (False, False, True, True),
        "mma-dfer": (True, True, True, True),
    }
    for name, (pr, prpr, mtt, fb) in rows.items():
        c = mmadapt.get_preset(name, a, v)
        assert (c.prompts is not None) == pr, name
        assert (c.prompts is not None and c.prompts.progressive) == prpr, name
        assert c.head.use_transformer == mtt, name
        assert (c.fusion is not None) == fb, name
    with pytest.raises(ValueError, match="already registered"):
        mmadapt.register_preset("mma-dfer", lambda a, v: MultimodalConfig())


def test_no_temporal_head_averages_frames():
    torch.manual_seed(0)
    audio, a_shape = timm_vit(1, size=(64, 32))
    video, v_shape = timm_vit(3)
    model = mmadapt.wrap_encoders(audio, video, preset="mma-dfer-no-temporal", num_classes=3, head=SMALL_HEAD).eval()
    vid, aud = make_inputs(a_shape, v_shape)
    with torch.no_grad():
        s = model.forward_streams(vid, aud)
        z = model.head.joint(s.video_pooled, s.audio_pooled).mean(dim=1)
        assert torch.allclose(model.head.classifier(z), model(vid, aud), atol=1e-6)
    assert model.head.temporal is None


def test_config_json_round_trip():
    c = MultimodalConfig(num_classes=11, video_size=160, fusion=FusionConfig(latent_dim=64, layer_map=[(0, 0)]))
    c.prompts.schedule = {0: 3, 6: 3}
    again = MultimodalConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    with pytest.raises(ConfigError, match="unknown keys"):
        MultimodalConfig.from_dict({"num_classes": 3, "bogus": 1})
