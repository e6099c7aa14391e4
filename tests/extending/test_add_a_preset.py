"""Adding a preset: a function from the backbones' anatomies to a config, registered under a name. Depth-dependent
choices follow the backbones it is given. ``docs/extending.md`` points here."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
import torch

import mmadapt
from mmadapt.presets import PRESETS

from ..core.helpers import clone, make_inputs, make_pair, make_three, make_three_inputs


def late_fusion(anatomies: Mapping[str, mmadapt.Anatomy]) -> mmadapt.MultimodalConfig:
    """Late fusion: one bottleneck after each encoder's last block, no prompts, a mean-over-frames head."""
    last = {s: a.depth - 1 for s, a in anatomies.items()}
    return mmadapt.MultimodalConfig(
        num_classes=2,
        prompts=None,
        fusion=mmadapt.MeanBottleneckConfig(latent_dim=16, layer_map=[last]),
        head=mmadapt.TemporalHeadConfig(use_transformer=False, dim=32, max_frames=8),
    )


@pytest.fixture
def registered():
    mmadapt.register_preset("late-fusion", late_fusion)
    yield "late-fusion"
    PRESETS.unregister("late-fusion")


def test_the_preset_is_listed_and_described(registered):
    assert mmadapt.list_presets("late-*") == ["late-fusion"]
    assert mmadapt.describe_preset("late-fusion").startswith("Late fusion")


@pytest.mark.parametrize("pair", ["timm+timm", "hfvit+clip"])
def test_the_preset_follows_the_backbones_and_round_trips(registered, pair, tmp_path):
    audio, video, a_shape, v_shape = make_pair(pair)
    fresh = clone(audio), clone(video)
    model = mmadapt.wrap_encoders(audio, video, preset="late-fusion").eval()
    depths = {s: i.depth for s, i in model.streams.items()}
    assert model.fused_layers == [{s: d - 1 for s, d in depths.items()}]
    assert len(model.prompts) == 0 and model.config.preset == "late-fusion"
    vid, aud = make_inputs(a_shape, v_shape)
    with torch.no_grad():
        model.fusion[0].gate["video"].fill_(0.3)
        logits = model(vid, aud)
    assert logits.shape == (2, 2)
    model.save_adapter(tmp_path / "adapter")
    assert json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["config"]["preset"] == "late-fusion"
    # the saved config is complete: loading does not need the preset to be registered
    PRESETS.unregister("late-fusion")
    try:
        loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", *fresh).eval()
    finally:
        mmadapt.register_preset("late-fusion", late_fusion)
    with torch.no_grad():
        assert torch.equal(loaded(vid, aud), logits)


def test_the_preset_takes_three_streams_and_overrides(registered):
    backbones, shapes = make_three()
    model = mmadapt.wrap_encoders(backbones, preset="late-fusion", frames={"video", "flow"}, num_classes=5)
    assert model.fused_layers == [{"audio": 1, "video": 3, "flow": 1}]
    with torch.no_grad():
        assert model.eval()(**make_three_inputs(shapes)).shape == (2, 5)


def test_a_preset_must_return_a_config(registered):
    mmadapt.register_preset("broken", lambda anatomies: {"num_classes": 2})
    try:
        audio, video, _, _ = make_pair("timm+timm")
        with pytest.raises(mmadapt.ConfigError, match="'broken' returned dict"):
            mmadapt.wrap_encoders(audio, video, preset="broken")
    finally:
        PRESETS.unregister("broken")
    with pytest.raises(mmadapt.ConfigError, match="late-fusion"):
        mmadapt.get_preset("late-fusoin", {})  # a typo gets the close match
