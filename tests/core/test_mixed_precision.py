"""Half-precision frozen backbones under fp32 adapters: the residual stream runs in the backbones' dtype, the
adapters keep fp32 master weights and gradients, and the numbers match the fp32 model to bf16 precision."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mmadapt
from mmadapt.adapters.fusion.gate import gated_residual

from .backbones import PAIRS
from .helpers import SMALL_HEAD, hook_count, make_inputs, make_pair, randomise_gates, snapshot, wrap

BF16 = torch.bfloat16


def _pair_models(pair: str):
    """An fp32 model and a copy of it with bf16 backbones (same backbone and adapter values)."""
    audio, video, a_shape, v_shape = make_pair(pair)
    ref = wrap(audio, video)
    randomise_gates(ref)
    audio2, video2, _, _ = make_pair(pair)  # the same seeded values (a deepcopy would carry ref's hooks)
    half = wrap(audio2, video2)
    half.load_adapter_state_dict(ref.adapter_state_dict())
    half.cast_backbones(BF16)
    return ref, half, make_inputs(a_shape, v_shape)


def _block_dtypes(model: mmadapt.MultimodalAdapterModel) -> tuple[set[torch.dtype], list]:
    """Record the dtype of every backbone block's input and output during a forward."""
    seen: set[torch.dtype] = set()

    def hook(module, args, output):
        seen.add(args[0].dtype)
        seen.add((output[0] if isinstance(output, tuple) else output).dtype)

    handles = [b.register_forward_hook(hook) for s in ("audio", "video") for b in model._anatomy[s].blocks]
    return seen, handles


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_bf16_backbones_run_a_bf16_stream_under_fp32_adapters(pair):
    ref, half, (vid, aud) = _pair_models(pair)
    assert {p.dtype for p in half.adapter_parameters()} == {torch.float32}
    seen, handles = _block_dtypes(half)
    with torch.no_grad():
        expected = ref(vid, aud)
        plain = half(vid, aud)  # no autocast: adapters compute in fp32, the stream stays bf16
        with torch.autocast("cpu", dtype=BF16):
            autocast = half(vid, aud)
    for h in handles:
        h.remove()
    assert seen == {BF16}
    assert plain.dtype == torch.float32
    scale = expected.abs().max()
    assert (plain - expected).abs().max() < 1e-2 * scale
    assert (autocast.float() - expected).abs().max() < 2e-2 * scale


@pytest.mark.parametrize("pair", ["timm+timm", "ast+timm", "eva+beit"])
def test_bf16_backbones_give_fp32_gradients_close_to_the_fp32_model(pair):
    ref, half, (vid, aud) = _pair_models(pair)
    for model in (ref, half):
        model.train()
        model(vid, aud).float().square().mean().backward()
    ref_grads = dict(ref.adapter_named_parameters())
    for name, p in half.adapter_named_parameters():
        assert p.grad is not None and p.grad.dtype == torch.float32, name
        expected = ref_grads[name].grad
        if expected.abs().max() > 1e-6:
            cos = torch.nn.functional.cosine_similarity(p.grad.flatten(), expected.flatten(), dim=0)
            assert cos > 0.99, (name, float(cos))
    assert all(
        p.grad is None
        for b in (half.backbones["audio"], half.backbones["video"])
        for p in b.parameters()
        if p.dtype == BF16
    )


def test_wrapping_half_backbones_makes_fp32_adapters_unless_asked():
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    audio.to(BF16), video.to(BF16)
    model = wrap(audio, video)
    assert {p.dtype for p in model.adapter_parameters()} == {torch.float32}
    assert model.pos_embeds["video"]["pos_embed"].dtype == torch.float32
    vid, aud = make_inputs(a_shape, v_shape)
    assert torch.isfinite(model(vid, aud)).all()  # fp32 inputs are cast to the patch embedding's dtype

    audio, video, _, _ = make_pair("timm+timm")
    same = mmadapt.wrap_encoders(audio.to(BF16), video.to(BF16), head=SMALL_HEAD, num_classes=5, adapter_dtype=BF16)
    assert {p.dtype for p in same.adapter_parameters()} == {BF16}


def test_cast_backbones_leaves_adapters_and_detach_restores_the_cast_originals():
    audio, video, _, _ = make_pair("timm+timm")
    model = wrap(audio, video)
    adapters = {k: v.clone() for k, v in model.adapter_state_dict().items()}
    model.cast_backbones(BF16)
    for k, v in model.adapter_state_dict().items():
        assert v.dtype == torch.float32 and torch.equal(v, adapters[k]), k
    expected = {k: v.to(BF16) for k, v in snapshot(make_pair("timm+timm")[0]).items()}
    audio_back, _ = model.detach()
    assert hook_count(audio_back) == 0
    got = snapshot(audio_back)
    assert got.keys() == expected.keys()
    for k in expected:
        assert got[k].dtype == BF16 and torch.equal(got[k], expected[k]), k


def test_cast_backbones_while_disabled_keeps_the_native_tables_in_place():
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video)
    with model.disable_adapters():
        model.cast_backbones(BF16)
        assert model.backbones["video"].pos_embed.dtype == BF16  # the original table, swapped in while disabled
    assert model.backbones["video"].pos_embed is model.pos_embeds["video"]["pos_embed"]
    assert model.pos_embeds["video"]["pos_embed"].dtype == torch.float32


def test_adapter_saved_from_bf16_backbones_loads_into_fp32_backbones(tmp_path):
    _, half, (vid, aud) = _pair_models("timm+timm")
    half.save_adapter(tmp_path / "a")
    audio, video, _, _ = make_pair("timm+timm")
    fresh = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "a", audio, video)
    for k, v in half.adapter_state_dict().items():
        assert torch.equal(fresh.adapter_state_dict()[k], v), k


def test_train_config_backbone_dtype_casts_the_backbones(tmp_path):
    from mmadapt.recipe import TrainConfig, train

    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video).train()
    g = torch.Generator().manual_seed(0)
    clips = [
        {"video": torch.randn(3, *v_shape, generator=g), "audio": torch.randn(*a_shape, generator=g), "label": i % 5}
        for i in range(8)
    ]
    before = {k: v.clone() for k, v in model.adapter_state_dict().items()}
    cfg = TrainConfig(
        epochs=1,
        batch_size=4,
        num_workers=0,
        device="cpu",
        amp="off",
        out_dir=str(tmp_path),
        progress=False,
        log_every=0,
        backbone_dtype="bfloat16",
        lr=1e-2,
    )
    result = train(model, clips, None, cfg)
    assert torch.isfinite(torch.tensor(result.history[0]["train_loss"]))
    assert model.backbones["audio"].blocks[0].attn.qkv.weight.dtype == BF16
    after = model.adapter_state_dict()
    assert all(v.dtype == torch.float32 for v in after.values())
    assert any(not torch.equal(after[k], before[k]) for k in before)


_DTYPES = st.sampled_from([torch.float64, torch.float32, torch.bfloat16, torch.float16])


@settings(max_examples=40, deadline=None)
@given(x_dtype=_DTYPES, h_dtype=_DTYPES, gate_dtype=_DTYPES, grad=st.booleans(), seed=st.integers(0, 2**16))
def test_gated_residual_keeps_the_stream_dtype(x_dtype, h_dtype, gate_dtype, grad, seed):
    """Whatever the adapter computed in, the residual stream leaves in its own dtype with the right value."""
    g = torch.Generator().manual_seed(seed)
    x64, h64 = (
        torch.randn(3, 5, 8, generator=g, dtype=torch.float64),
        torch.randn(3, 5, 8, generator=g, dtype=torch.float64),
    )
    gate64 = torch.rand(1, generator=g, dtype=torch.float64) * 2 - 1
    x, h, gate = x64.to(x_dtype), h64.to(h_dtype), gate64.to(gate_dtype)
    with torch.set_grad_enabled(grad):
        out = gated_residual(x.requires_grad_(grad), h.requires_grad_(grad), gate.requires_grad_(grad))
    assert out.dtype == x_dtype
    expected = x.double() + torch.tanh(gate.double()) * h.double()
    coarse = max(torch.finfo(d).eps for d in (x_dtype, h_dtype, gate_dtype))
    torch.testing.assert_close(out.double(), expected, rtol=4 * coarse, atol=8 * coarse)
    if grad:
        out.double().sum().backward()
        assert (x.grad.dtype, h.grad.dtype, gate.grad.dtype) == (x_dtype, h_dtype, gate_dtype)


def test_a_deep_copy_casts_its_own_stream():
    ref, half, (vid, aud) = _pair_models("timm+timm")
    twin = copy.deepcopy(ref).cast_backbones(BF16)  # the original stays fp32
    seen, handles = _block_dtypes(twin)
    with torch.no_grad():
        torch.testing.assert_close(twin(vid, aud), half(vid, aud))
        ref(vid, aud)
    for h in handles:
        h.remove()
    assert seen == {BF16}
    assert ref.backbones["video"].blocks[0].attn.qkv.weight.dtype == torch.float32
