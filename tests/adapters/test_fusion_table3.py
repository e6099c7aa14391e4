"""The fusion kinds of MMA-DFER Table 3 (``add``, ``mult``, ``mult-concat``) and their ``mma-dfer-fusion-*`` presets.

Specification, for every kind: an untrained fusion is the identity (zero gates), so the wrapped model equals the
native forward; the fused numbers equal a plain re-implementation of the formula in the kind's docstring; once a
gate is non-zero one optimiser step reaches every parameter of the kind and changes the output; a saved adapter
is rebuilt by its ``type``; the presets' trainable counts follow from the config by hand. ``add`` needs streams of
one width (refused otherwise); ``mult`` and ``mult-concat`` take any widths and any number of streams.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import mmadapt
from mmadapt import resolve_anatomy
from mmadapt.adapters import AddFusionConfig, MultConcatFusionConfig, MultFusionConfig, build_adapter
from mmadapt.methods.mma_dfer.table3 import TABLE3
from mmadapt.streams import StreamInfo

from ..core.helpers import SMALL_HEAD, clone, make_inputs, make_pair, make_three, make_three_inputs, wrap_three

KINDS = {"add": AddFusionConfig, "mult": MultFusionConfig, "mult-concat": MultConcatFusionConfig}
SMALL = {"add": {}, "mult": {"dim": 8, "heads": 2}, "mult-concat": {"dim": 8, "heads": 2, "mlp_ratio": 2.0}}
"""Small widths for the module-level checks (the presets use the paper's 128)."""
EQUAL_WIDTH_PAIRS = ["ast+timm", "timm-reg+deit"]
MIXED_WIDTH_PAIRS = ["hfvit+clip", "eva+beit"]  # 32/40 and 48/32


def _pairs(kind: str) -> list[str]:
    """Pairs a kind can fuse: ``add`` only those of one width."""
    return EQUAL_WIDTH_PAIRS if kind == "add" else EQUAL_WIDTH_PAIRS + MIXED_WIDTH_PAIRS


KIND_PAIRS = [(k, p) for k in KINDS for p in _pairs(k)]


def _module(kind: str, widths: dict[str, int], frames: dict[str, int], seed: int = 0, **kw) -> nn.Module:
    torch.manual_seed(seed)
    infos = {s: StreamInfo(s, frames[s] > 1, w, 2, 5, 1) for s, w in widths.items()}
    return build_adapter(KINDS[kind](**{**SMALL[kind], **kw}), "fusion", infos)


def _stream_inputs(widths, frames, tokens, n, seed=0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {s: torch.randn(n * frames[s], tokens[s], w, generator=g) for s, w in widths.items()}


@torch.no_grad()
def _set_gates(model_or_fusion, value: float) -> None:
    layers = model_or_fusion.fusion if hasattr(model_or_fusion, "fusion") else [model_or_fusion]
    for f in layers:
        for gate in f.gate.values():
            gate.fill_(value)


def _images(x: torch.Tensor, per_frame: bool) -> torch.Tensor:
    return x.flatten(0, 1) if per_frame else x


# ---- identity at initialisation ---------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(sorted(KINDS)),
    n_streams=st.integers(2, 3),
    widths=st.lists(st.integers(1, 12), min_size=3, max_size=3),
    frames=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    tokens=st.lists(st.integers(1, 5), min_size=3, max_size=3),
    n=st.integers(1, 2),
)
def test_a_zero_gated_fusion_returns_its_input_exactly(kind, n_streams, widths, frames, tokens, n):
    names = ["audio", "video", "flow"][:n_streams]
    w = {s: widths[0] if kind == "add" else widths[i] for i, s in enumerate(names)}
    f = {s: frames[i] for i, s in enumerate(names)}
    x = _stream_inputs(w, f, {s: tokens[i] for i, s in enumerate(names)}, n)
    with torch.no_grad():
        out = _module(kind, w, f)(x, f)
    assert set(out) == set(x)
    assert all(torch.equal(out[s], x[s]) for s in x)


@pytest.mark.parametrize(("kind", "pair"), KIND_PAIRS)
def test_an_untrained_model_equals_the_native_forward(kind, pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    refs = {}
    with torch.no_grad():
        for s, b, x in (("audio", audio, aud), ("video", video, _images(vid, True))):
            refs[s] = resolve_anatomy(b).native_tokens(x)
    model = mmadapt.wrap_encoders(
        audio, video, num_classes=3, head=SMALL_HEAD, prompts=None, fusion={"type": kind, **SMALL[kind]}
    ).eval()
    assert len(model.fusion) > 0 and all(
        type(f) is mmadapt.get_adapter_kind("fusion", kind).module_cls for f in model.fusion
    )
    with torch.no_grad():
        out = model.forward_streams(audio=aud, video=vid)
    for s, tokens in refs.items():
        assert torch.equal(out.tokens[s], tokens), s


@pytest.mark.parametrize(
    ("kind", "flow_family"),
    [
        ("add", "hf-vit"),
        ("mult", "hf-vit"),
        ("mult", "timm-eva"),
        ("mult-concat", "hf-vit"),
        ("mult-concat", "timm-eva"),
    ],
)
def test_three_streams_are_the_identity_untrained_and_all_change_when_gated(kind, flow_family):
    backbones, shapes = make_three(flow_family)
    x = make_three_inputs(shapes)
    refs = {}
    with torch.no_grad():
        for s, b in backbones.items():
            refs[s] = resolve_anatomy(b).native_tokens(_images(x[s], s != "audio"))
    model = wrap_three(backbones, prompts=None, fusion={"type": kind, **SMALL[kind]})
    with torch.no_grad():
        zero = model.forward_streams(**x)
        _set_gates(model, 0.5)
        gated = model.forward_streams(**x)
    for s in backbones:
        assert torch.equal(zero.tokens[s], refs[s]), s
        assert (zero.pooled[s] - gated.pooled[s]).abs().max() > 1e-4, s


def test_add_refuses_streams_of_different_widths_naming_them():
    backbones, _ = make_three("timm-eva")  # audio 32, video 32, flow 48
    with pytest.raises(mmadapt.ConfigError, match=r"^add fusion .* one width; got audio 32, video 32, flow 48 \("):
        wrap_three(backbones, fusion={"type": "add"})
    audio, video, _, _ = make_pair("hfvit+clip")
    with pytest.raises(mmadapt.ConfigError, match=r"got audio 32, video 40") as err:
        mmadapt.wrap_encoders(audio, video, preset="mma-dfer-fusion-add", num_classes=3, head=SMALL_HEAD)
    assert "\n" not in str(err.value)


# ---- the numbers: plain re-implementations of the docstrings' formulas ------------------------------------------
WIDTHS, FRAMES, TOKENS, N = {"audio": 6, "video": 4}, {"audio": 1, "video": 3}, {"audio": 5, "video": 3}, 2


def _lin(m: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    return x @ m.weight.T + m.bias


def _ln(m: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    mu, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + m.eps) * m.weight + m.bias


def _mha(q, k, v, heads):
    """Per head softmax(q kᵀ/sqrt(d_h)) v, written out."""
    outs = []
    for qh, kh, vh in zip(q.chunk(heads, -1), k.chunk(heads, -1), v.chunk(heads, -1), strict=True):
        outs.append(torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(qh.shape[-1]), dim=-1) @ vh)
    return torch.cat(outs, -1)


def _per_clip(x, t):  # (n·T, N, D) -> (n, T·N, D)
    return x.reshape(x.shape[0] // t, -1, x.shape[-1])


def _reference(kind: str, f: nn.Module, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    t = {s: torch.tanh(f.gate[s]) for s in x}
    if kind == "add":
        means = {s: _per_clip(v, FRAMES[s]).mean(1, keepdim=True) for s, v in x.items()}  # equal token counts/frame
        other = {"audio": means["video"], "video": means["audio"]}
        return {s: x[s] + t[s] * other[s].repeat_interleave(FRAMES[s], 0) for s in x}
    if kind == "mult":
        z = {s: _per_clip(_ln(f.norm[s], v), FRAMES[s]) for s, v in x.items()}
        out = {}
        for s, o in (("audio", "video"), ("video", "audio")):
            a = _mha(_lin(f.query[s], z[s]), _lin(f.key[s][o], z[o]), _lin(f.value[s][o], z[o]), f.heads)
            out[s] = x[s] + t[s] * _lin(f.out[s], a).reshape(x[s].shape)
        return out
    layer = f.layer
    u = torch.cat([_lin(f.proj[s], _per_clip(x[s], FRAMES[s])) for s in x], 1)
    q, k, v = _lin(layer.qkv, _ln(layer.norm1, u)).chunk(3, -1)
    u = u + _lin(layer.proj, _mha(q, k, v, layer.heads))
    hidden = nn.functional.gelu(_lin(layer.mlp[0], _ln(layer.norm2, u)))
    g = (u + _lin(layer.mlp[2], hidden)).mean(1, keepdim=True)  # (n, 1, d)
    return {s: x[s] + t[s] * _lin(f.out[s], g).repeat_interleave(FRAMES[s], 0) for s in x}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_fused_numbers_follow_the_formula(kind):
    widths = {s: 4 for s in WIDTHS} if kind == "add" else WIDTHS
    tokens = {s: 3 for s in TOKENS} if kind == "add" else TOKENS
    f = _module(kind, widths, FRAMES)
    with torch.no_grad():
        f.gate["audio"].fill_(0.7)
        f.gate["video"].fill_(-0.4)
    x = _stream_inputs(widths, FRAMES, tokens, N)
    with torch.no_grad():
        out, ref = f(x, FRAMES), _reference(kind, f, x)
    for s in x:
        torch.testing.assert_close(out[s], ref[s], rtol=1e-5, atol=1e-6)


def test_mult_frames_attend_to_their_own_clip_and_audio_to_all_its_frames():
    f = _module("mult", WIDTHS, FRAMES)
    _set_gates(f, 0.5)
    x = _stream_inputs(WIDTHS, FRAMES, TOKENS, N)
    with torch.no_grad():
        base = f(x, FRAMES)
        audio = x["audio"].clone()
        audio[1] += torch.randn(audio[1].shape)  # not a constant: the input LayerNorm would remove that
        moved_audio = f({**x, "audio": audio}, FRAMES)
        last_frame = FRAMES["video"] - 1  # the last frame of clip 0
        video = x["video"].clone()
        video[last_frame] += torch.randn(video[last_frame].shape)
        moved_frame = f({**x, "video": video}, FRAMES)
    t = FRAMES["video"]
    assert torch.equal(moved_audio["video"][:t], base["video"][:t])  # clip 0's frames do not see clip 1's audio
    assert not torch.allclose(moved_audio["video"][t:], base["video"][t:])  # every frame of clip 1 does
    assert not torch.allclose(moved_frame["audio"][0], base["audio"][0])  # audio reads its clip's last frame
    assert torch.equal(moved_frame["audio"][1], base["audio"][1])


# ---- training, dtype, save/load ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "pair"), [(k, p) for k in KINDS for p in _pairs(k)[::2]])
def test_one_step_with_open_gates_reaches_every_parameter_and_changes_the_output(kind, pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = mmadapt.wrap_encoders(audio, video, num_classes=3, head=SMALL_HEAD, fusion={"type": kind, **SMALL[kind]})
    _set_gates(model, 0.5)
    model.eval()
    with torch.no_grad():
        before = model(vid, aud)
    optimizer = torch.optim.SGD(model.adapter_parameters(), lr=0.1)
    nn.functional.cross_entropy(model(vid, aud), torch.tensor([0, 2])).backward()
    grads = {n: p.grad for n, p in model.fusion.named_parameters()}
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads.values()), [
        n for n, g in grads.items() if g is None or g.abs().sum() == 0
    ]
    optimizer.step()
    with torch.no_grad():
        assert (model(vid, aud) - before).abs().max() > 1e-6


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_bf16_stream_stays_bf16_through_fp32_fusion_weights(kind):
    widths = {s: 4 for s in WIDTHS} if kind == "add" else WIDTHS
    tokens = {s: 3 for s in TOKENS} if kind == "add" else TOKENS
    f = _module(kind, widths, FRAMES)
    _set_gates(f, 0.5)
    x = _stream_inputs(widths, FRAMES, tokens, N)
    half = {s: v.bfloat16() for s, v in x.items()}
    with torch.no_grad():
        out, ref = f(half, FRAMES), f(x, FRAMES)
    for s in x:
        assert out[s].dtype == torch.bfloat16
        torch.testing.assert_close(out[s].float(), ref[s], rtol=0.05, atol=0.05)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_saved_adapter_is_rebuilt_by_its_type(kind, tmp_path):
    audio, video, a_shape, v_shape = make_pair("ast+timm")
    fresh = clone(audio), clone(video)
    vid, aud = make_inputs(a_shape, v_shape)
    model = mmadapt.wrap_encoders(audio, video, num_classes=3, head=SMALL_HEAD, fusion={"type": kind, **SMALL[kind]})
    _set_gates(model, 0.3)
    model.eval()
    with torch.no_grad():
        logits = model(vid, aud)
    model.save_adapter(tmp_path / "adapter")
    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())["config"]["fusion"]
    assert saved["type"] == kind and all(saved[k] == v for k, v in SMALL[kind].items())
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", *fresh).eval()
    assert all(type(f) is type(model.fusion[0]) for f in loaded.fusion) and len(loaded.fusion) == len(model.fusion)
    with torch.no_grad():
        assert torch.equal(loaded(vid, aud), logits)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (lambda: MultFusionConfig(dim=130, heads=4), r"MultFusionConfig: dim must be a positive multiple of heads"),
        (lambda: MultFusionConfig(heads=0), r"got dim=128, heads=0"),
        (lambda: MultConcatFusionConfig(dim=6, heads=4), r"MultConcatFusionConfig: dim must be"),
        (lambda: MultConcatFusionConfig(mlp_ratio=0.0), r"mlp_ratio must give an MLP width >= 1, got 0.0"),
    ],
)
def test_bad_attention_widths_are_refused_in_one_line(config, problem):
    with pytest.raises(mmadapt.ConfigError, match=problem) as err:
        config()
    assert "\n" not in str(err.value)


# ---- the presets ------------------------------------------------------------------------------------------------
def _add_count(widths: dict[str, int]) -> int:
    return len(widths)  # one gate per stream


def _mult_count(widths: dict[str, int], d: int) -> int:
    """Per receiver s: LayerNorm (2 D_s), query (D_s d + d), keys and values from each other stream o
    (2 (D_o d + d)), output (d D_s + D_s), gate (1)."""
    return sum(
        2 * w + (w * d + d) + sum(2 * (widths[o] * d + d) for o in widths if o != s) + (d * w + w) + 1
        for s, w in widths.items()
    )


def _mult_concat_count(widths: dict[str, int], d: int, mlp: int) -> int:
    """Per stream: input projection (D_s d + d), output (d D_s + D_s), gate; one layer: 2 LayerNorms (4 d),
    qkv (3 d² + 3 d), attention output (d² + d), MLP (d m + m + m d + d)."""
    streams = sum((w * d + d) + (d * w + w) + 1 for w in widths.values())
    return streams + 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * mlp + mlp + mlp * d + d)


PRESET_PAIRS = [
    (f"mma-dfer-fusion-{kind}", pair)
    for kind in ("add", "mult", "mult-concat")
    for pair in _pairs(kind)[:1] + ["hfvit+clip"]
    if kind != "add" or pair != "hfvit+clip"  # add needs one width (its refusal is tested above)
]


@pytest.mark.parametrize(("preset", "pair"), PRESET_PAIRS)
def test_each_presets_trainable_count_follows_from_its_config(preset, pair):
    audio, video, _, _ = make_pair(pair)
    model = mmadapt.wrap_encoders(audio, video, preset=preset, num_classes=3, head=SMALL_HEAD)
    widths = {s: info.width for s, info in model.streams.items()}
    c = model.config.fusion
    per_layer = {
        "add": lambda: _add_count(widths),
        "mult": lambda: _mult_count(widths, c.dim),
        "mult-concat": lambda: _mult_concat_count(widths, c.dim, int(c.dim * c.mlp_ratio)),
    }[preset.removeprefix("mma-dfer-fusion-")]()
    assert sum(p.numel() for p in model.fusion.parameters()) == per_layer * len(model.fused_layers)
    trainable = model.get_nb_trainable_parameters()[0]
    model.detach()  # hands the backbones back (their own requires_grad) for the fusion-free reference
    none = mmadapt.wrap_encoders(audio, video, preset="mma-dfer-fusion-none", num_classes=3, head=SMALL_HEAD)
    assert trainable == none.get_nb_trainable_parameters()[0] + per_layer * len(model.fused_layers)


def test_the_table3_presets_are_mma_dfer_with_only_the_fusion_swapped():
    from mmadapt.presets import preset_record

    torch.manual_seed(0)
    audio, video, _, _ = make_pair("ast+timm")
    anatomies = {"audio": resolve_anatomy(audio), "video": resolve_anatomy(video)}
    base = mmadapt.get_preset("mma-dfer", anatomies).to_dict()
    expected = {
        "mma-dfer-fusion-add": "add",
        "mma-dfer-fusion-mult": "mult",
        "mma-dfer-fusion-mult-concat": "mult-concat",
        "mma-dfer-fusion-none": None,
    }
    assert sorted(TABLE3) == sorted(expected)  # (mma-dfer-fusion-mbt is beyond the paper)
    for name, kind in expected.items():
        config = mmadapt.get_preset(name, anatomies)
        fusion = config.to_dict()["fusion"]
        assert (fusion and fusion["type"]) == kind, name
        assert {k: v for k, v in config.to_dict().items() if k not in ("fusion", "preset")} == {
            k: v for k, v in base.items() if k not in ("fusion", "preset")
        }, name
        record = preset_record(name)
        assert record.paper_ref == "MMA-DFER Table 3" and record.paper_params_m is None
    mult = mmadapt.get_preset("mma-dfer-fusion-mult", anatomies).fusion
    assert (mult.dim, mult.heads) == (128, 2)  # §4.5: 2 heads, total width 128
    assert mmadapt.get_preset("mma-dfer-fusion-none", anatomies).to_dict() | {"preset": None} == mmadapt.get_preset(
        "mma-dfer-no-fusion", anatomies
    ).to_dict() | {"preset": None}
