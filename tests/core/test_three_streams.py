"""Three encoders: an AST audio stream, a timm ViT video stream and a third per-frame stream ("flow", a Hugging Face
ViT on another view of the frames). The two-stream contract holds stream by stream, and the fusion is N-way."""

from __future__ import annotations

import json

import pytest
import torch

import mmadapt
from mmadapt import resolve_anatomy

from .helpers import (
    THIRD_FAMILIES,
    clone,
    hook_count,
    make_three,
    make_three_inputs,
    randomise_gates,
    snapshot,
    wrap_three,
)


def _images(x: torch.Tensor, per_frame: bool) -> torch.Tensor:
    return x.flatten(0, 1) if per_frame else x


@pytest.mark.parametrize("flow_family", sorted(THIRD_FAMILIES))
def test_zero_gates_without_prompts_equal_every_native_forward(flow_family):
    backbones, shapes = make_three(flow_family)
    x = make_three_inputs(shapes)
    refs = {}
    for s, b in backbones.items():
        anatomy = resolve_anatomy(b)
        with torch.no_grad():
            images = _images(x[s], s != "audio")
            refs[s] = anatomy.native_tokens(images), anatomy.native_pooled(images)
    model = wrap_three(backbones, prompts=None)
    assert [f.gate["flow"].item() for f in model.fusion] == [0.0] * len(model.fusion)
    with torch.no_grad():
        out = model.forward_streams(**x)
    for s, (tokens, pooled) in refs.items():
        assert torch.equal(out.tokens[s], tokens), s
        assert torch.equal(_images(out.pooled[s], s != "audio"), pooled), s
    assert out.frames == {"audio": 1, "video": 3, "flow": 3}


def test_streams_are_named_and_per_frame_as_declared():
    backbones, _ = make_three()
    model = wrap_three(backbones)
    assert model.stream_names == ["audio", "video", "flow"]
    assert {s: i.per_frame for s, i in model.streams.items()} == {"audio": False, "video": True, "flow": True}
    # default layer map: each step of the depth-2 encoders, matched proportionally in the depth-4 video encoder
    assert model.fused_layers == [{"audio": 0, "video": 1, "flow": 0}, {"audio": 1, "video": 3, "flow": 1}]
    assert set(model.prompts) == set(model.pos_embeds) == {"audio", "video", "flow"}
    assert set(model.fusion[0].down) == {"audio", "video", "flow"}


def test_frames_may_name_one_stream_as_a_string():
    from mmadapt.streams import as_streams

    backbones, _ = make_three()
    assert as_streams(backbones, frames="video")[1] == {"video"}  # the name, not its letters
    assert as_streams(backbones, frames=["video", "flow"])[1] == {"video", "flow"}


def test_nonzero_gates_change_all_three_streams():
    backbones, shapes = make_three()
    x = make_three_inputs(shapes)
    model = wrap_three(backbones)
    with torch.no_grad():
        before = model.forward_streams(**x)
        randomise_gates(model)
        after = model.forward_streams(**x)
    for s in backbones:
        assert (before.pooled[s] - after.pooled[s]).abs().max() > 1e-4, s


def test_a_stream_left_out_of_the_fusion_is_untouched_by_it():
    backbones, shapes = make_three()
    x = make_three_inputs(shapes)
    model = wrap_three(backbones, prompts=None, fusion={"streams": ["audio", "video"]})
    assert model.fused_streams == ["audio", "video"]
    randomise_gates(model)
    flow = resolve_anatomy(backbones["flow"])
    with torch.no_grad():
        ref = flow.native_pooled(x["flow"].flatten(0, 1))
        out = model.forward_streams(**x)
    assert torch.equal(out.pooled["flow"].flatten(0, 1), ref)
    assert not torch.equal(
        out.pooled["video"].flatten(0, 1), resolve_anatomy(backbones["video"]).native_pooled(x["video"].flatten(0, 1))
    )


def test_detach_returns_all_three_bit_identical():
    backbones, shapes = make_three()
    x = make_three_inputs(shapes)
    states = {s: snapshot(b) for s, b in backbones.items()}
    flags = {s: [p.requires_grad for p in b.parameters()] for s, b in backbones.items()}
    model = wrap_three(backbones)
    randomise_gates(model)
    model.train()
    model(**x).sum().backward()
    torch.optim.SGD(model.adapter_parameters(), lr=0.1).step()
    returned = model.detach()
    assert len(returned) == 3 and all(r is backbones[s] for r, s in zip(returned, ["audio", "video", "flow"]))
    for s, b in backbones.items():
        now = b.state_dict()
        assert now.keys() == states[s].keys() and all(torch.equal(now[k], states[s][k]) for k in now), s
        assert [p.requires_grad for p in b.parameters()] == flags[s], s
        assert hook_count(b) == 0, s


@pytest.mark.parametrize("how", ["mapping", "keywords"])
def test_save_load_gives_identical_logits(tmp_path, how):
    backbones, shapes = make_three()
    fresh = {s: clone(b) for s, b in backbones.items()}
    x = make_three_inputs(shapes)
    model = wrap_three(backbones)
    randomise_gates(model)
    with torch.no_grad():
        for p in model.adapter_parameters():
            p.add_(torch.randn_like(p) * 0.01)
        logits = model(**x)
    model.save_adapter(tmp_path / "adapter")
    saved = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert [(s["name"], s["per_frame"]) for s in saved["streams"]] == [
        ("audio", False),
        ("video", True),
        ("flow", True),
    ]
    load = mmadapt.MultimodalAdapterModel.from_pretrained
    loaded = load(tmp_path / "adapter", fresh) if how == "mapping" else load(tmp_path / "adapter", **fresh)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(**x), logits)
        assert torch.equal(loaded(x), logits)  # one mapping, same thing


def test_loading_needs_every_saved_stream(tmp_path):
    backbones, _ = make_three()
    fresh = {s: clone(b) for s, b in backbones.items()}
    wrap_three(backbones).save_adapter(tmp_path / "adapter")
    with pytest.raises(mmadapt.MMAdaptError, match="flow"):
        mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", audio=fresh["audio"], video=fresh["video"])


def test_inputs_are_checked_by_stream_name():
    backbones, shapes = make_three()
    x = make_three_inputs(shapes)
    model = wrap_three(backbones)
    with pytest.raises(mmadapt.InputShapeError, match=r"missing \['flow'\]"):
        model(audio=x["audio"], video=x["video"])
    with pytest.raises(mmadapt.InputShapeError, match=r"unexpected \['depth'\]"):
        model(**x, depth=x["flow"])
    with pytest.raises(mmadapt.InputShapeError, match="flow"):
        model(**{**x, "flow": x["flow"][:, 0]})  # a per-frame stream needs (B, T, C, H, W)
    with pytest.raises(mmadapt.InputShapeError, match="positional"):
        model(x["video"], x["audio"])  # the positional (video, audio) form is only for the two-stream model


def test_three_way_fusion_gives_each_stream_the_mean_of_the_others():
    """The reference computation of one mean-bottleneck step for three streams, written out."""
    infos = {
        "a": mmadapt.StreamInfo("a", per_frame=False, width=8, depth=2, num_tokens=5, num_prefix_tokens=1),
        "v": mmadapt.StreamInfo("v", per_frame=True, width=12, depth=2, num_tokens=7, num_prefix_tokens=1),
        "f": mmadapt.StreamInfo("f", per_frame=True, width=6, depth=2, num_tokens=3, num_prefix_tokens=0),
    }
    torch.manual_seed(0)
    fusion = mmadapt.MeanBottleneck(mmadapt.MeanBottleneckConfig(latent_dim=4, gate_init=0.3), infos)
    n, t = 2, 3
    frames = {"a": 1, "v": t, "f": t}
    x = {s: torch.randn(n * frames[s], i.num_tokens, i.width) for s, i in infos.items()}
    out = fusion(x, frames)
    with torch.no_grad():
        lo = {s: fusion.down[s](x[s]).view(n, frames[s], infos[s].num_tokens, 4) for s in infos}  # (n, T, N, d)
        mean = {s: lo[s].mean(dim=(1, 2)) for s in infos}  # (n, d): frames, then tokens (equal sizes: one mean)
        for s in infos:
            received = torch.stack([mean[o] for o in infos if o != s]).mean(dim=0)  # (n, d)
            update = fusion.up[s](lo[s] + received[:, None, None])  # (n, T, N, D)
            expected = x[s] + torch.tanh(fusion.gate[s]) * update.view_as(x[s])
            torch.testing.assert_close(out[s], expected, rtol=1e-6, atol=1e-6)


def test_fullgraph_compile_of_three_streams_has_no_graph_break():
    torch._dynamo.reset()
    backbones, shapes = make_three()
    model = wrap_three(backbones).train()
    randomise_gates(model)
    x = make_three_inputs(shapes)
    eager = model(**x)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    out = compiled(**x)  # fullgraph=True raises on any graph break
    torch.testing.assert_close(out, eager, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.adapter_parameters())
