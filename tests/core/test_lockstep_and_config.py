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


def _pairs(layers):
    return [(layer["audio"], layer["video"]) for layer in layers]


def test_default_layer_map_matches_blocks_proportionally():
    depths = lambda a, v: {"audio": a, "video": v}  # noqa: E731
    assert _pairs(FusionConfig().resolve_layer_map(depths(12, 12))) == [(i, i) for i in range(12)]
    assert _pairs(FusionConfig().resolve_layer_map(depths(2, 4))) == [(0, 1), (1, 3)]
    assert _pairs(FusionConfig().resolve_layer_map(depths(6, 3))) == [(1, 0), (3, 1), (5, 2)]
    with pytest.raises(ConfigError, match="outside the encoders' depths"):
        FusionConfig(layer_map=[(0, 9)]).resolve_layer_map(depths(2, 4))
    with pytest.raises(ConfigError, match="increase strictly"):
        FusionConfig(layer_map=[(1, 1), (0, 2)]).resolve_layer_map(depths(2, 4))
    # a mapping names its streams; positions follow the streams' order
    named = FusionConfig(layer_map=[{"video": 3, "audio": 1}]).resolve_layer_map(depths(2, 4))
    assert named == FusionConfig(layer_map=[(1, 3)]).resolve_layer_map(depths(2, 4)) == [{"audio": 1, "video": 3}]
    with pytest.raises(ConfigError, match="exactly the fused streams"):
        FusionConfig(layer_map=[{"audio": 1}]).resolve_layer_map(depths(2, 4))


def test_default_layer_map_over_three_streams_is_proportional_in_each():
    layers = FusionConfig().resolve_layer_map({"audio": 2, "video": 4, "flow": 6})
    assert layers == [{"audio": 0, "video": 1, "flow": 2}, {"audio": 1, "video": 3, "flow": 5}]


def test_plan_runs_every_block_once_and_updates_after_fusion():
    plan = build_plan(
        {"audio": 2, "video": 4},
        [{"audio": 0, "video": 1}, {"audio": 1, "video": 3}],
        {"audio": {0: 3}, "video": {1: 3}},
    )
    a = lambda i: Step("block", i, "audio")  # noqa: E731
    v = lambda i: Step("block", i, "video")  # noqa: E731
    assert plan == [
        a(0),
        v(0),
        v(1),
        Step("fuse", 0),
        Step("prompt", 0, "audio"),
        Step("prompt", 1, "video"),
        a(1),
        v(2),
        v(3),
        Step("fuse", 1),
    ]


def test_plan_over_three_streams_fuses_a_subset_and_runs_the_rest_after():
    plan = build_plan({"audio": 2, "video": 2, "flow": 3}, [{"audio": 1, "video": 1}], {"flow": {0: 2}})
    assert plan == [
        Step("block", 0, "audio"),
        Step("block", 1, "audio"),
        Step("block", 0, "video"),
        Step("block", 1, "video"),
        Step("fuse", 0),
        Step("block", 0, "flow"),
        Step("prompt", 0, "flow"),
        Step("block", 1, "flow"),
        Step("block", 2, "flow"),
    ]


def test_different_depths_and_widths_run_and_train():
    torch.manual_seed(0)
    audio, a_shape = timm_vit(1, size=(64, 32), depth=2, embed_dim=48, num_heads=3)
    video, v_shape = timm_vit(3, depth=4, embed_dim=32, num_heads=2)
    model = mmadapt.wrap_encoders(audio, video, num_classes=4, head=SMALL_HEAD, fusion={"layer_map": [(1, 3)]})
    assert model.fused_layers == [{"audio": 1, "video": 3}]
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    model(vid, aud).sum().backward()
    assert model.fusion[0].down["audio"][0].weight.grad.abs().sum() > 0


def test_presets_registry_and_table4_rows():
    names = mmadapt.list_presets("mma-*")
    # mma-dfer; Tables 4 (7), 3 (4), 2 (4), 5 (2), 6 (3), 7 (5); MBT and VPT-deep
    assert "mma-dfer" in names and len(names) == 1 + 7 + 4 + 4 + 2 + 3 + 5 + 2
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
    with pytest.raises(mmadapt.RegistryError, match="already registered"):
        mmadapt.register_preset("mma-dfer", lambda anatomies: MultimodalConfig())


def test_no_temporal_head_averages_frames():
    torch.manual_seed(0)
    audio, a_shape = timm_vit(1, size=(64, 32))
    video, v_shape = timm_vit(3)
    model = mmadapt.wrap_encoders(audio, video, preset="mma-dfer-no-temporal", num_classes=3, head=SMALL_HEAD).eval()
    vid, aud = make_inputs(a_shape, v_shape)
    with torch.no_grad():
        s = model.forward_streams(vid, aud)
        z = model.head.joint(s.pooled).mean(dim=1)
        assert torch.allclose(model.head.classifier(z), model(vid, aud), atol=1e-6)
    assert model.head.temporal is None


def test_config_json_round_trip():
    c = MultimodalConfig(
        num_classes=11, input_sizes={"video": 160}, fusion=FusionConfig(latent_dim=64, layer_map=[(0, 0)])
    )
    c.prompts.schedule = {0: 3, 6: 3}
    again = MultimodalConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    with pytest.raises(ConfigError, match="unknown keys"):
        MultimodalConfig.from_dict({"num_classes": 3, "bogus": 1})
