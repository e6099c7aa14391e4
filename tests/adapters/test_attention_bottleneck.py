"""The attention-bottleneck fusion kind (MBT): exact at init, tokens cross modalities, N streams, save/load by type."""

from __future__ import annotations

import copy

import pytest
import torch

import mmadapt
from mmadapt import resolve_anatomy
from mmadapt.errors import ConfigError, UnsupportedBackboneError
from mmadapt.lockstep import build_plan

from ..core.helpers import make_inputs, make_pair, make_three, make_three_inputs, wrap, wrap_three

MBT = {"type": "attention-bottleneck"}
PAIRS_OK = ["timm+timm", "ast+timm", "hfvit+clip", "dinov2+vitmae", "timm-reg+deit"]


def _set_gates(model, value: float) -> None:
    with torch.no_grad():
        for f in model.fusion:
            for g in f.gate.values():
                g.fill_(value)


def _reference(model, audio, video):
    """The same prompts and head without fusion: the native-forward model the untrained MBT must equal."""
    ref = wrap(audio, video, fusion=None)
    state = {k: v for k, v in model.adapter_state_dict().items() if not k.startswith("fusion.")}
    ref.load_adapter_state_dict(state)
    return ref


@pytest.mark.parametrize("pair", PAIRS_OK)
def test_untrained_logits_equal_the_native_forward_model(pair):
    audio, video, sa, sv = make_pair(pair)
    ref_a, ref_v = copy.deepcopy(audio), copy.deepcopy(video)
    model = wrap(audio, video, fusion=MBT)
    ref = _reference(model, ref_a, ref_v)
    vid, aud = make_inputs(sa, sv)
    with torch.no_grad():
        got, want = model(video=vid, audio=aud), ref(video=vid, audio=aud)
    assert (got - want).abs().max() <= 1e-6


def test_zero_gates_without_prompts_equal_every_native_forward_of_three_streams():
    backbones, shapes = make_three()
    x = make_three_inputs(shapes)
    refs = {}
    for s, b in backbones.items():
        images = x[s].flatten(0, 1) if s != "audio" else x[s]
        with torch.no_grad():
            refs[s] = resolve_anatomy(b).native_tokens(images)
    model = wrap_three(backbones, prompts=None, fusion=MBT)
    with torch.no_grad():
        out = model.forward_streams(**x)
    for s, tokens in refs.items():
        assert torch.equal(out.tokens[s], tokens), s


def test_fused_blocks_run_only_through_the_fusion_step():
    plan = build_plan({"a": 2, "v": 4}, [{"a": 0, "v": 1}, {"a": 1, "v": 3}], {}, fusion_runs_blocks=True)
    blocks = [(s.stream, s.index) for s in plan if s.op == "block"]
    assert blocks == [("v", 0), ("v", 2)]
    assert [s.index for s in plan if s.op == "fuse"] == [0, 1]


def test_nonzero_gate_carries_audio_information_into_video_per_token_and_trains_everything():
    audio, video, sa, sv = make_pair("timm+timm")
    model = wrap(audio, video, fusion=MBT, prompts=None)
    vid, aud = make_inputs(sa, sv)
    with torch.no_grad():
        native = model.forward_streams(video=vid, audio=aud).pooled["video"]
        moved = model.forward_streams(video=vid, audio=aud + 1.0).pooled["video"]
    assert torch.equal(native, moved)  # zero gates: the audio cannot reach the video
    _set_gates(model, 0.5)
    with torch.no_grad():
        before = model.forward_streams(video=vid, audio=aud).pooled["video"]
        after = model.forward_streams(video=vid, audio=aud + 1.0).pooled["video"]
    assert (before - after).abs().max() > 1e-4  # only the audio changed; the bottleneck tokens carried it
    model.train()
    model(video=vid, audio=aud).square().sum().backward()
    assert not model.fusion[-1].from_stream  # the last layer's tokens feed no later layer: nothing gathers them
    for k, f in enumerate(model.fusion):
        for name, p in f.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, (k, name)


def test_zero_gates_still_get_a_gradient():
    audio, video, sa, sv = make_pair("timm+timm")
    model = wrap(audio, video, fusion=MBT).train()
    vid, aud = make_inputs(sa, sv)
    model(video=vid, audio=aud).square().sum().backward()
    assert all(g.grad.abs().item() > 0 for f in model.fusion for g in f.gate.values())


def test_three_streams_share_one_bottleneck_and_all_change_with_gates():
    backbones, shapes = make_three()
    x = make_three_inputs(shapes)
    model = wrap_three(backbones, fusion=MBT)
    assert set(model.fusion[0].gate) == {"audio", "video", "flow"}
    with torch.no_grad():
        before = model.forward_streams(**x)
        _set_gates(model, 0.5)
        after = model.forward_streams(**x)
    for s in backbones:
        assert (before.pooled[s] - after.pooled[s]).abs().max() > 1e-4, s


def test_widths_differ_through_a_shared_space():
    audio, video, _, _ = make_pair("timm+timm")  # widths 48 and 32
    model = wrap(audio, video, fusion={**MBT, "dim": 40, "num_tokens": 3})
    f = model.fusion[0]
    assert f.tokens.shape == (3, 40)
    assert f.to_stream["audio"].weight.shape == (48, 40) and f.from_stream["video"].weight.shape == (40, 32)
    default = wrap(*make_pair("timm+timm")[:2], fusion=MBT)
    assert default.fusion[0].tokens.shape[-1] == max(info.width for info in default.streams.values())


def test_disabled_adapters_run_the_native_blocks():
    audio, video, sa, sv = make_pair("ast+timm")
    ref = wrap(copy.deepcopy(audio), copy.deepcopy(video), fusion=None)
    model = wrap(audio, video, fusion=MBT)
    _set_gates(model, 0.5)
    vid, aud = make_inputs(sa, sv)
    with torch.no_grad(), model.disable_adapters(), ref.disable_adapters():
        out, want = model.forward_streams(video=vid, audio=aud), ref.forward_streams(video=vid, audio=aud)
    for s in ("audio", "video"):
        assert torch.equal(out.pooled[s], want.pooled[s]), s


def test_save_load_round_trip_by_type(tmp_path):
    audio, video, sa, sv = make_pair("hfvit+clip")
    fresh_a, fresh_v = copy.deepcopy(audio), copy.deepcopy(video)
    model = wrap(audio, video, fusion=MBT)
    _set_gates(model, 0.3)
    model.save_adapter(tmp_path)
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path, audio=fresh_a, video=fresh_v).eval()
    assert type(loaded.config.fusion) is mmadapt.AttentionBottleneckConfig
    vid, aud = make_inputs(sa, sv)
    with torch.no_grad():
        assert torch.equal(model(video=vid, audio=aud), loaded(video=vid, audio=aud))


def test_preset_is_mma_dfer_with_this_fusion():
    audio, video, _, _ = make_pair("timm+timm")
    anatomies = {"audio": resolve_anatomy(audio), "video": resolve_anatomy(video)}
    mbt = mmadapt.get_preset("mma-dfer-fusion-mbt", anatomies)
    base = mmadapt.get_preset("mma-dfer", anatomies)
    assert isinstance(mbt.fusion, mmadapt.AttentionBottleneckConfig) and mbt.fusion.num_tokens == 4
    assert mbt.prompts == base.prompts and mbt.head == base.head


def test_relative_position_bias_families_are_refused_in_one_line():
    audio, video, _, _ = make_pair("eva+beit")
    with pytest.raises(UnsupportedBackboneError, match="stream 'video'.*cannot take them"):
        wrap(audio, video, fusion=MBT)
    wrap(audio, video)  # the backbones were handed back untouched


@pytest.mark.parametrize("bad", [{"num_tokens": 0}, {"dim": 0}, {"init_std": -1.0}])
def test_bad_config_is_refused(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        mmadapt.AttentionBottleneckConfig(**bad)


def _pair_of_width(width: int):
    from ..core.backbones import timm_vit

    audio, a_shape = timm_vit(1, size=(64, 32), embed_dim=width, num_heads=2)
    video, v_shape = timm_vit(3, embed_dim=width, num_heads=2)
    return audio, video, a_shape, v_shape


def test_equal_widths_need_no_maps_as_in_mbt_and_always_maps_start_as_the_same_model():
    audio, video, sa, sv = _pair_of_width(32)
    twin_a, twin_v = copy.deepcopy(audio), copy.deepcopy(video)
    auto = wrap(audio, video, fusion=MBT)
    for f in auto.fusion:
        assert all(isinstance(m, torch.nn.Identity) for m in [*f.to_stream.values(), *f.from_stream.values()])
        assert {name.split(".")[0] for name, _ in f.named_parameters()} == {"tokens", "gate"}
    always = wrap(twin_a, twin_v, fusion={**MBT, "maps": "always"})
    assert all(isinstance(m, torch.nn.Linear) for f in always.fusion for m in f.to_stream.values())
    extra = sum(p.numel() for p in always.adapter_parameters()) - sum(p.numel() for p in auto.adapter_parameters())
    # two streams, in and out (only in for the last layer, whose tokens no layer takes), weight and bias
    assert extra == (2 * len(always.fusion) - 1) * 2 * (32 * 32 + 32)
    with torch.no_grad():
        shared = dict(always.adapter_named_parameters())
        for name, value in auto.adapter_state_dict().items():  # the maps drew from the RNG: align the rest
            shared[name].copy_(value)
        _set_gates(auto, 0.5)
        _set_gates(always, 0.5)
        vid, aud = make_inputs(sa, sv)
        torch.testing.assert_close(always(video=vid, audio=aud), auto(video=vid, audio=aud), rtol=0, atol=1e-6)


def test_auto_maps_only_the_streams_whose_width_differs():
    audio, video, _, _ = make_pair("timm+timm")  # widths 48 and 32: the token space is 48 wide
    f = wrap(audio, video, fusion=MBT).fusion[0]
    assert isinstance(f.to_stream["audio"], torch.nn.Identity) and isinstance(f.to_stream["video"], torch.nn.Linear)


def test_an_unknown_maps_value_is_one_line():
    with pytest.raises(ConfigError, match="maps must be one of auto, always, got 'sometimes'"):
        mmadapt.AttentionBottleneckConfig(maps="sometimes")
