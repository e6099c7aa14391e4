"""VPT-deep (kind ``vpt-deep``): fresh prompts REPLACE the previous ones at every block's input, on every stream.

Specification: the P tokens after the patch tokens at block i's input are exactly ``prompts[i]``; the gradient
reaches every block's prompts; ``disable_adapters`` gives the native path; save/load round-trips; timm, HF, 3 streams.
"""

from __future__ import annotations

import pytest
import torch

import mmadapt
from mmadapt import VPTDeepConfig
from tests.core.helpers import make_inputs, make_pair, make_three, make_three_inputs, wrap, wrap_three

P = 3


def _model(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    return wrap(audio, video, prompts={"type": "vpt-deep", "num_prompts": P}), make_inputs(a_shape, v_shape)


@pytest.mark.parametrize("pair", ["timm+timm", "ast+timm", "hfvit+clip"])
def test_every_block_sees_its_own_prompts(pair):
    model, (vid, aud) = _model(pair)
    seen: dict[tuple[str, int], torch.Tensor] = {}
    handles = []
    for s, anatomy in model._anatomy.items():
        for i, block in enumerate(anatomy.blocks):

            def grab(m, args, kwargs, s=s, i=i):
                x = args[0] if args else next(iter(kwargs.values()))
                seen[(s, i)] = x[:, -P:].detach().clone()

            handles.append(block.register_forward_pre_hook(grab, with_kwargs=True))
    with torch.no_grad():
        model(vid, aud)
    for h in handles:
        h.remove()
    for (s, i), tokens in seen.items():
        if i == 0 and pair == "hfvit+clip" and s == "video":
            continue  # CLIP's pre_layrnorm normalises the embedded sequence, prompts included, before block 0
        want = model.prompts[s].prompts[i].expand_as(tokens)
        assert torch.equal(tokens, want), (s, i)  # replaced, not added
    assert {s: tuple(p.prompts.shape) for s, p in model.prompts.items()} == {
        s: (info.depth, P, info.width) for s, info in model.streams.items()
    }


@pytest.mark.parametrize("pair", ["timm+timm", "hfvit+clip"])
def test_gradient_reaches_every_block_and_disable_is_native(pair):
    model, (vid, aud) = _model(pair)
    out = model.forward_streams(vid, aud)
    sum((o * torch.randn_like(o)).sum() for o in out.pooled.values()).backward()
    for s, p in model.prompts.items():
        assert all(p.prompts.grad[i].abs().sum() > 0 for i in range(p.prompts.shape[0])), s
    with torch.no_grad(), model.disable_adapters():
        plain = model.forward_streams(vid, aud)
    audio, video = model.detach()
    bare = wrap(audio, video, prompts=None)  # the same backbones, no prompt kind at all
    with torch.no_grad(), bare.disable_adapters():
        native = bare.forward_streams(vid, aud)
    for s in plain.pooled:
        assert torch.equal(plain.pooled[s], native.pooled[s]), s
        assert out.tokens[s].shape == plain.tokens[s].shape  # prompts stripped


def test_save_load_round_trip(tmp_path):
    model, (vid, aud) = _model("ast+timm")
    with torch.no_grad():
        for p in model.prompts.parameters():
            p.normal_()
        want = model(vid, aud)
    directory = model.save_adapter(tmp_path / "adapter")
    other, _ = _model("ast+timm")
    other.load_adapter(directory)
    assert type(other.config.prompts) is VPTDeepConfig
    with torch.no_grad():
        assert torch.equal(other(vid, aud), want)


def test_three_streams_and_single_vit():
    backbones, shapes = make_three()
    model = wrap_three(backbones, prompts={"type": "vpt-deep", "num_prompts": P})
    assert set(model.prompts) == {"audio", "video", "flow"}
    assert model(make_three_inputs(shapes)).shape == (2, 5)
    from tests.core.backbones import timm_vit

    vit, shape = timm_vit(3)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        ref = vit.forward_features(x)
        handle = mmadapt.attach_prompts(vit, VPTDeepConfig(num_prompts=2))
        got = vit.forward_features(x)
        assert got.shape == ref.shape and not torch.allclose(got, ref)
        handle.detach()
        assert torch.equal(vit.forward_features(x), ref)


def test_bad_prompt_count_is_one_line():
    with pytest.raises(mmadapt.ConfigError, match="num_prompts must be >= 1"):
        VPTDeepConfig(num_prompts=0)
