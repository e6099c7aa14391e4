"""Proof of the seam: a fusion kind defined here, outside mmadapt, is registered, trained, saved and rebuilt from its
saved ``type`` — without touching any mmadapt file. ``docs/extending.md`` points at this test."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pytest
import torch
from torch import nn

import mmadapt
from mmadapt.adapters import FusionKindConfig

from ..core.helpers import SMALL_HEAD, clone, make_inputs, make_pair, make_three, make_three_inputs, wrap_three


# ---- the new kind: one config dataclass, one module, one registration line ---------------------------------------
@dataclass
class GatedAdditiveConfig(FusionKindConfig):
    """Each stream adds a gated linear map of the other streams' clip-mean tokens."""

    gate_init: float = 0.0


class GatedAdditive(nn.Module):
    def __init__(self, config: GatedAdditiveConfig, streams: Mapping[str, mmadapt.StreamInfo]) -> None:
        super().__init__()
        self.proj = nn.ModuleDict(
            {f"{o}_to_{s}": nn.Linear(streams[o].width, streams[s].width) for s in streams for o in streams if o != s}
        )
        self.gate = nn.ParameterDict({s: nn.Parameter(torch.full((1,), config.gate_init)) for s in streams})

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        means = {s: v.view(-1, frames[s], *v.shape[1:]).mean(dim=(1, 2)) for s, v in x.items()}  # (n, D_s)
        out = {}
        for s, v in x.items():
            received = sum(self.proj[f"{o}_to_{s}"](means[o]) for o in x if o != s)  # (n, D_s)
            clip = v.view(-1, frames[s], *v.shape[1:])  # (n, T, N, D)
            out[s] = (clip + torch.tanh(self.gate[s]) * received[:, None, None]).view_as(v)
        return out


@pytest.fixture
def gated_additive():
    kind = mmadapt.register_adapter_kind("fusion", "gated-additive", GatedAdditiveConfig, GatedAdditive)
    yield kind
    mmadapt.unregister_adapter_kind("fusion", "gated-additive")


# ---- the specification ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", ["ast+timm", "hfvit+clip"])
def test_a_kind_defined_outside_mmadapt_trains_saves_and_loads(gated_additive, pair, tmp_path):
    audio, video, a_shape, v_shape = make_pair(pair)
    fresh = clone(audio), clone(video)
    vid, aud = make_inputs(a_shape, v_shape)
    model = mmadapt.wrap_encoders(
        audio,
        video,
        preset="mma-dfer",
        num_classes=3,
        head=SMALL_HEAD,
        fusion={"type": "gated-additive", "gate_init": 0.1},
    )
    assert all(isinstance(f, GatedAdditive) for f in model.fusion) and len(model.fusion) > 0
    before = {n: p.detach().clone() for n, p in model.adapter_named_parameters() if n.startswith("fusion.")}
    assert before, "the new kind's parameters are adapter parameters (found by ownership)"

    optimizer = torch.optim.AdamW(model.adapter_parameters(), lr=1e-2)
    target = torch.tensor([0, 2])
    model.train()
    losses = []
    for _ in range(4):
        loss = nn.functional.cross_entropy(model(vid, aud), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    after = dict(model.adapter_named_parameters())
    assert all(not torch.equal(after[n], p) for n, p in before.items() if "gate" in n)

    model.eval()
    with torch.no_grad():
        logits = model(vid, aud)
    model.save_adapter(tmp_path / "adapter")
    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert saved["config"]["fusion"]["type"] == "gated-additive"
    assert saved["config"]["fusion"]["gate_init"] == 0.1

    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", *fresh).eval()
    assert all(type(f) is GatedAdditive for f in loaded.fusion)
    with torch.no_grad():
        assert torch.equal(loaded(vid, aud), logits)


def test_a_saved_unregistered_kind_asks_for_its_registration(tmp_path):
    audio, video, _, _ = make_pair("ast+timm")
    fresh = clone(audio), clone(video)
    mmadapt.register_adapter_kind("fusion", "gated-additive", GatedAdditiveConfig, GatedAdditive)
    try:
        model = mmadapt.wrap_encoders(
            audio, video, preset="mma-dfer", num_classes=3, head=SMALL_HEAD, fusion={"type": "gated-additive"}
        )
        model.save_adapter(tmp_path / "adapter")
    finally:
        mmadapt.unregister_adapter_kind("fusion", "gated-additive")
    with pytest.raises(mmadapt.UnknownNameError, match=r"'gated-additive'.*must be registered \(mmadapt\.register"):
        mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", *fresh)


def test_the_kind_works_for_three_streams(gated_additive):
    backbones, shapes = make_three()
    model = wrap_three(backbones, fusion={"type": "gated-additive"})
    assert set(model.fusion[0].proj) == {f"{o}_to_{s}" for s in backbones for o in backbones if o != s}
    x = make_three_inputs(shapes)
    with torch.no_grad():
        zero = model.forward_streams(**x)
        for f in model.fusion:
            for g in f.gate.values():
                g.fill_(0.5)
        gated = model.forward_streams(**x)
    assert all(not torch.equal(zero.pooled[s], gated.pooled[s]) for s in backbones)


def test_registering_a_kind_is_validated(gated_additive):
    assert "gated-additive" in mmadapt.list_adapter_kinds("fusion", "gated-*")
    with pytest.raises(mmadapt.RegistryError, match="already"):
        mmadapt.register_adapter_kind("fusion", "gated-additive", GatedAdditiveConfig, nn.Linear)
    with pytest.raises(mmadapt.RegistryError, match="gated-additive"):
        mmadapt.get_adapter_kind("fusion", "gated-addtive")  # a typo is answered with the close match
    with pytest.raises(TypeError, match="AdapterConfig"):
        mmadapt.register_adapter_kind("fusion", "plain-config", dict, GatedAdditive)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="nn.Module"):
        mmadapt.register_adapter_kind("fusion", "not-a-module", GatedAdditiveConfig, object)  # type: ignore[arg-type]
    with pytest.raises(mmadapt.RegistryError, match="role"):
        mmadapt.list_adapter_kinds("fusoin")


def test_the_builtin_kinds_are_registered_by_role():
    assert mmadapt.list_adapter_kinds("prompts") == ["progressive", "vpt-deep"]
    assert "mean-bottleneck" in mmadapt.list_adapter_kinds("fusion")
    assert mmadapt.list_adapter_kinds("head") == ["late-concat", "temporal-transformer"]
    assert mmadapt.list_adapter_kinds("joint") == ["add-project"]
    assert mmadapt.get_adapter_kind("fusion", "mean-bottleneck").config_cls is mmadapt.MeanBottleneckConfig


class _Broken(GatedAdditive):
    """A faulty kind: ``how`` says what it gets wrong in its output."""

    how = "drop"

    def forward(self, x: Mapping[str, torch.Tensor], frames: Mapping[str, int]) -> dict[str, torch.Tensor]:
        out = super().forward(x, frames)
        first = next(iter(out))
        if self.how == "drop":
            del out[first]
        elif self.how == "extra":
            out["ghost"] = out[first]
        elif self.how == "shape":
            out[first] = out[first][:, :1]
        elif self.how == "dtype":
            out[first] = out[first].double()
        return out


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("drop", r"fusion _Broken returned \['video'\]; it must return the streams \['audio', 'video'\]"),
        ("extra", r"returned \['audio', 'ghost', 'video'\]; it must return the streams \['audio', 'video'\]"),
        (
            "shape",
            r"returned \(\d+, 1, \d+\) torch.float32 for stream 'audio'; it must keep the input's \(\d+, \d+, \d+\)",
        ),
        ("dtype", r"returned .* torch.float64 for stream 'audio'; it must keep the input's .* torch.float32"),
    ],
)
def test_a_kind_whose_output_does_not_fit_its_streams_is_named_at_once(how, problem, monkeypatch):
    monkeypatch.setattr(_Broken, "how", how)
    mmadapt.register_adapter_kind("fusion", "zz-broken", GatedAdditiveConfig, _Broken)
    try:
        audio, video, a_shape, v_shape = make_pair("ast+timm")
        vid, aud = make_inputs(a_shape, v_shape)
        model = mmadapt.wrap_encoders(audio, video, num_classes=3, head=SMALL_HEAD, fusion={"type": "zz-broken"})
        with pytest.raises(mmadapt.AdapterMismatchError, match=problem):
            model(vid, aud)
    finally:
        mmadapt.unregister_adapter_kind("fusion", "zz-broken")
