"""The adapter contract, run over a matrix of backbone pairs (timm and Hugging Face families, PEFT-wrapped).

Every pair must: equal the native backbones with zero gates, equal the prompt-hooked native forward with prompts,
change with non-zero gates, detach bit-identically, round-trip through save/load, and train only adapter tensors.
"""

from __future__ import annotations

import pytest
import torch

import mmadapt
from mmadapt import resolve_anatomy

from .backbones import PAIRS
from .helpers import clone, hook_count, make_inputs, make_pair, randomise_gates, snapshot, wrap

pytestmark = pytest.mark.parametrize("pair", sorted(PAIRS))


def _native(backbone, x):
    anatomy = resolve_anatomy(backbone)
    with torch.no_grad():
        return anatomy.native_tokens(x), anatomy.native_pooled(x)


def test_zero_gates_without_prompts_equal_native_forward(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    ref_a_tok, ref_a = _native(audio, aud)
    ref_v_tok, ref_v = _native(video, vid.flatten(0, 1))
    model = wrap(audio, video, prompts=None)
    with torch.no_grad():
        out = model.forward_streams(vid, aud)
    assert torch.equal(out.tokens["audio"], ref_a_tok)
    assert torch.equal(out.tokens["video"], ref_v_tok)
    assert torch.equal(out.pooled["audio"], ref_a)
    assert torch.equal(out.pooled["video"].flatten(0, 1), ref_v)


def test_prompts_equal_native_forward_with_prompt_hooks(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    copies = clone(audio), clone(video)  # before wrapping: an attached backbone carries the model's hooks
    model = wrap(audio, video, prompts={"num_prompts": 4, "schedule": {0: 2}})
    refs = {}
    for stream, backbone, x in (("audio", copies[0], aud), ("video", copies[1], vid.flatten(0, 1))):
        handle = mmadapt.attach_prompts(backbone, model.config.prompts)
        handle.injector.load_state_dict(model.prompts[stream].state_dict())
        refs[stream] = _native(backbone, x)
    with torch.no_grad():
        out = model.forward_streams(vid, aud)
    assert torch.equal(out.tokens["audio"], refs["audio"][0])
    assert torch.equal(out.pooled["audio"], refs["audio"][1])
    assert torch.equal(out.tokens["video"], refs["video"][0])
    assert torch.equal(out.pooled["video"].flatten(0, 1), refs["video"][1])
    # and the prompts matter
    with torch.no_grad(), model.disable_adapters():
        plain = model.forward_streams(vid, aud)
    assert not torch.equal(plain.pooled["video"], out.pooled["video"])


def test_nonzero_gates_change_both_streams(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = wrap(audio, video)
    with torch.no_grad():
        before = model.forward_streams(vid, aud)
        randomise_gates(model)
        after = model.forward_streams(vid, aud)
    assert (before.pooled["audio"] - after.pooled["audio"]).abs().max() > 1e-4
    assert (before.pooled["video"] - after.pooled["video"]).abs().max() > 1e-4


def test_detach_returns_bit_identical_backbones(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    states = snapshot(audio), snapshot(video)
    flags = [p.requires_grad for p in audio.parameters()], [p.requires_grad for p in video.parameters()]
    ref = _native(audio, aud)[1], _native(video, vid.flatten(0, 1))[1]
    model = wrap(audio, video)
    randomise_gates(model)
    model.train()
    model(vid, aud).sum().backward()
    torch.optim.SGD(model.adapter_parameters(), lr=0.1).step()
    a_back, v_back = model.detach()
    assert a_back is audio and v_back is video
    for backbone, state, flag, r, x in zip((audio, video), states, flags, ref, (aud, vid.flatten(0, 1))):
        now = backbone.state_dict()
        assert now.keys() == state.keys()
        assert all(torch.equal(now[k], state[k]) for k in state)
        assert [p.requires_grad for p in backbone.parameters()] == flag
        assert hook_count(backbone) == 0
        backbone.eval()
        assert torch.equal(_native(backbone, x)[1], r)
    with pytest.raises(RuntimeError, match="detached"):
        model(vid, aud)


def test_save_load_into_fresh_backbones_gives_identical_logits(pair, tmp_path):
    audio, video, a_shape, v_shape = make_pair(pair)
    fresh_audio, fresh_video = clone(audio), clone(video)
    vid, aud = make_inputs(a_shape, v_shape)
    model = wrap(audio, video)
    randomise_gates(model)
    with torch.no_grad():
        for p in model.adapter_parameters():
            p.add_(torch.randn_like(p) * 0.01)
        logits = model(vid, aud)
    model.save_adapter(tmp_path / "adapter")
    loaded = mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "adapter", fresh_audio, fresh_video).eval()
    with torch.no_grad():
        assert torch.equal(loaded(vid, aud), logits)


def test_only_adapter_tensors_are_trained(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    model = wrap(audio, video)
    randomise_gates(model)
    model(vid, aud).logsumexp(-1).sum().backward()
    adapter_ids = {id(p) for p in model.adapter_parameters()}
    for name, p in model.named_parameters():
        if id(p) in adapter_ids:
            assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert not p.requires_grad and p.grad is None, name
    trainable, total = model.get_nb_trainable_parameters()
    assert trainable == sum(p.numel() for p in model.adapter_parameters())
    assert total > trainable
