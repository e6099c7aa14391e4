"""torch.compile(fullgraph=True) traces the whole lockstep forward and backward without a graph break."""

from __future__ import annotations

import pytest
import torch

from .helpers import make_inputs, make_pair, randomise_gates, wrap


@pytest.mark.parametrize(
    ("pair", "checkpointing", "backbone_dtype"),
    [("timm+timm", False, None), ("hfvit+clip", False, None), ("eva+beit", False, None), ("timm+timm", True, None),
     ("timm+timm", False, torch.bfloat16)],
)
def test_fullgraph_compile_matches_eager(pair, checkpointing, backbone_dtype):
    torch._dynamo.reset()
    audio, video, a_shape, v_shape = make_pair(pair)
    model = wrap(audio, video)  # attach before compile: hooks added later would be ignored
    if backbone_dtype is not None:
        model.cast_backbones(backbone_dtype)  # bf16 stream, fp32 adapters
    model.set_grad_checkpointing(checkpointing)
    model.train(checkpointing)
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    eager = model(vid, aud)
    compiled = torch.compile(model, fullgraph=True, backend="aot_eager")
    out = compiled(vid, aud)  # fullgraph=True raises on any graph break
    assert torch.allclose(out, eager, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert all(p.grad is not None for p in model.adapter_parameters())


def test_grad_checkpointing_gives_the_same_gradients():
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video)
    randomise_gates(model)
    model.train()
    vid, aud = make_inputs(a_shape, v_shape)
    grads = []
    for flag in (False, True):
        model.set_grad_checkpointing(flag)
        model.zero_grad()
        model(vid, aud).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.adapter_named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-6), name


def test_bf16_autocast_runs_with_fp32_adapter_weights():
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video)
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    ref = model(vid, aud)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(vid, aud)
    assert all(p.dtype == torch.float32 for p in model.adapter_parameters())
    assert torch.isfinite(out).all()
    assert (out.float() - ref).abs().max() < 0.1 * ref.abs().max() + 0.05


def test_to_and_train_reach_the_backbones():
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video)
    model.train()
    assert audio.training and video.training
    model.eval()
    assert not audio.training and not video.training
    model.double()
    assert all(p.dtype == torch.float64 for p in audio.parameters())
    assert model.pos_embeds["video_pos_embed"].dtype == torch.float64
    vid, aud = make_inputs(a_shape, v_shape)
    assert model(vid.double(), aud.double()).dtype == torch.float64
