"""Shared adapter sizes over presets of several fusion kinds: an override typed for one kind sizes that kind only,
the others keep their preset's sizes, a preset without the adapter leaves it off, and an untyped override that does
not fit the preset's kind is a one-line error (no key is dropped silently)."""

from __future__ import annotations

import pytest
import torch

import mmadapt
from mmadapt._preset_overrides import overrides_for_preset
from mmadapt.anatomy import resolve_anatomy
from mmadapt.demo.driver import DemoConfig, demo_model_config, make_backbones
from mmadapt.errors import ConfigError

from ..demo.test_demo import TINY

KINDS = {  # preset -> (fusion kind, the size that shows whose sizes it got)
    "mma-dfer": ("mean-bottleneck", ("latent_dim", 16)),  # the demo's typed override
    "mma-dfer-fusion-mbt": ("attention-bottleneck", ("num_tokens", 4)),  # its preset's own
    "mma-dfer-fusion-mult": ("mult", ("dim", 128)),
}


@pytest.fixture(scope="module")
def backbones():
    torch.manual_seed(0)
    return make_backbones(DemoConfig(**TINY))


@pytest.mark.parametrize("preset", [*KINDS, "mma-dfer-fusion-none"])
def test_the_demo_sizes_apply_to_every_fusion_kind(backbones, preset):
    audio, video = backbones
    cfg = DemoConfig(**TINY)
    assert cfg.adapter_overrides["fusion"] == {"type": "mean-bottleneck", "latent_dim": 16}
    model_cfg = demo_model_config(preset, audio, video, cfg)  # before: 'unknown keys ... latent_dim' for mbt, mult
    if preset == "mma-dfer-fusion-none":
        assert model_cfg.fusion is None
        return
    kind, (field, value) = KINDS[preset]
    assert model_cfg.fusion.to_typed_dict()["type"] == kind
    assert getattr(model_cfg.fusion, field) == value
    assert model_cfg.prompts.num_prompts == cfg.adapter_overrides["prompts"]["num_prompts"]  # untyped: applied


def test_overrides_for_preset_keeps_what_fits(backbones):
    audio, video = backbones
    mult = mmadapt.get_preset("mma-dfer-fusion-mult", resolve_anatomy(audio), resolve_anatomy(video))
    none = mmadapt.get_preset("mma-dfer-fusion-none", resolve_anatomy(audio), resolve_anatomy(video))
    overrides = {"fusion": {"type": "mean-bottleneck", "latent_dim": 16}, "prompts": {"num_prompts": 2}}
    assert overrides_for_preset(mult, overrides) == {"prompts": {"num_prompts": 2}}
    assert overrides_for_preset(mult, {"fusion": {"type": "mult", "dim": 32}}) == {
        "fusion": {"type": "mult", "dim": 32}
    }
    assert overrides_for_preset(none, overrides) == {"prompts": {"num_prompts": 2}}
    untyped = overrides_for_preset(mult, {"fusion": {"latent_dim": 16}})
    with pytest.raises(ConfigError, match="latent_dim") as err:
        mult.with_overrides(**untyped)
    assert "\n" not in str(err.value)
