"""torch.compile(fullgraph=True) traces the whole lockstep forward and backward without a graph break."""

from __future__ import annotations

import pytest
import torch

from .helpers import make_inputs, make_pair, randomise_gates, wrap


@pytest.mark.parametrize(
    ("pair", "checkpointing", "backbone_dtype"),
    [
        ("timm+timm", False, None),
        ("hfvit+clip", False, None),
        ("eva+beit", False, None),
        ("timm+timm", True, None),
        ("timm+timm", False, torch.bfloat16),
    ],
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
    assert model.pos_embeds["video"]["pos_embed"].dtype == torch.float64
    vid, aud = make_inputs(a_shape, v_shape)
    assert model(vid.double(), aud.double()).dtype == torch.float64


@pytest.mark.parametrize("pair", ["timm+timm", "hfvit+clip"])
def test_compile_fusion_matches_eager_logits_and_gradients(pair):
    torch._dynamo.reset()
    audio, video, a_shape, v_shape = make_pair(pair)
    model = wrap(audio, video)
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    results = []
    for compiled in (False, True):
        if compiled:
            assert model.compile_fusion(backend="aot_eager") is model
        model.zero_grad()
        out = model(vid, aud)
        out.square().sum().backward()
        results.append((out.detach(), {n: p.grad.clone() for n, p in model.adapter_named_parameters()}))
    (eager, eager_grads), (out, grads) = results
    assert torch.allclose(out, eager, atol=1e-6, rtol=1e-6)
    assert grads.keys() == eager_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, eager_grads[name], atol=1e-6, rtol=1e-5), name


def test_compile_fusion_serves_a_deep_copy_with_its_own_weights():
    """The compiled step takes the bottleneck as an argument, so a copied model runs its own bottlenecks (a compiled
    bound method would have kept calling the original's)."""
    import copy

    torch._dynamo.reset()
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video).compile_fusion(backend="aot_eager")
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for fusion in twin.fusion:
            fusion.gate["video"].fill_(2.0)
            fusion.gate["audio"].fill_(-2.0)
    assert not torch.allclose(twin(vid, aud), model(vid, aud))
    reference = copy.deepcopy(twin)
    reference._fuse = lambda fusion, a, v: fusion(a, v)  # the plain eager step
    assert torch.allclose(twin(vid, aud), reference(vid, aud), atol=1e-6)


def test_compile_fusion_inside_a_fullgraph_compile():
    torch._dynamo.reset()
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video).compile_fusion(backend="aot_eager")
    randomise_gates(model)
    vid, aud = make_inputs(a_shape, v_shape)
    eager = model(vid, aud)
    out = torch.compile(model, fullgraph=True, backend="aot_eager")(vid, aud)
    assert torch.allclose(out, eager, atol=1e-5, rtol=1e-5)


def test_train_config_compile_fusion_trains_through_the_compiled_step(tmp_path):
    from mmadapt.model import MultimodalAdapterModel
    from mmadapt.recipe import TrainConfig, train

    torch._dynamo.reset()
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video).train()
    calls = []

    def quick_compile(**kwargs):  # inductor compiles for minutes on a CPU; the step's semantics are the same
        calls.append(kwargs)
        return MultimodalAdapterModel.compile_fusion(model, backend="aot_eager")

    model.compile_fusion = quick_compile
    g = torch.Generator().manual_seed(0)
    clips = [
        {"video": torch.randn(3, *v_shape, generator=g), "audio": torch.randn(*a_shape, generator=g), "label": i % 5}
        for i in range(8)
    ]
    before = {n: p.detach().clone() for n, p in model.adapter_named_parameters()}
    cfg = TrainConfig(
        epochs=1,
        batch_size=4,
        num_workers=0,
        device="cpu",
        amp="off",
        out_dir=str(tmp_path),
        progress=False,
        log_every=0,
        compile_fusion=True,
        lr=1e-2,
    )
    result = train(model, clips, None, cfg)
    assert calls == [{}]
    assert torch.isfinite(torch.tensor(result.history[0]["train_loss"]))
    gates = [n for n in before if ".gate." in n]
    assert gates and all(not torch.equal(dict(model.adapter_named_parameters())[n], before[n]) for n in gates)
