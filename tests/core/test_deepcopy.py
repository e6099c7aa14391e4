"""``copy.deepcopy`` of an adapted backbone or model gives an independent twin (EMA copies, model soups, ablations).

Hooks are objects the copy duplicates; a twin must never read the original's prompts, enabled flag or gradient
flags, and detaching either one must leave the other working.
"""

from __future__ import annotations

import copy

import pytest
import torch

import mmadapt
from mmadapt import PromptConfig

from .backbones import PAIRS, hf_beit, hf_vit, timm_eva, timm_vit
from .helpers import hook_count, make_inputs, make_pair, randomise_gates, wrap

SINGLE = {"timm": timm_vit, "hf-vit": hf_vit, "timm-eva": timm_eva, "hf-beit": hf_beit}


def _pooled(vit, x):
    with torch.no_grad():
        return mmadapt.resolve_anatomy(vit).native_pooled(x)


def _prompted_vit(family):
    """A seeded ViT of ``family`` with prompts attached, its input, and its pooled output before and after."""
    torch.manual_seed(0)
    vit, shape = SINGLE[family](3)
    x = torch.randn(2, *shape)
    native = _pooled(vit, x)
    handle = mmadapt.attach_prompts(vit, PromptConfig(num_prompts=3, schedule={0: 2}))
    return vit, handle, x, native, _pooled(vit, x)


@pytest.mark.parametrize("family", sorted(SINGLE))
def test_deepcopied_prompted_vit_runs_on_its_own_prompts(family):
    vit, handle, x, native, prompted = _prompted_vit(family)
    twin, twin_handle = copy.deepcopy((vit, handle))
    assert torch.equal(_pooled(twin, x), prompted)

    with torch.no_grad():  # the original trains on; its twin must not follow (a constant would be LayerNorm-ed away)
        handle.injector.progressive[0].add_(torch.randn_like(handle.injector.progressive[0]))
    assert not torch.allclose(_pooled(vit, x), prompted)
    assert torch.equal(_pooled(twin, x), prompted)

    handle.injector.enabled = False  # switching the original off leaves the twin prompted
    assert torch.equal(_pooled(vit, x), native)
    assert torch.equal(_pooled(twin, x), prompted)
    twin_handle.injector.enabled = False
    assert torch.equal(_pooled(twin, x), native)


@pytest.mark.parametrize("family", sorted(SINGLE))
def test_detaching_a_deepcopied_prompted_vit_restores_it_and_spares_the_original(family):
    flags = [p.requires_grad for p in SINGLE[family](3)[0].parameters()]  # a fresh ViT's, before freezing
    vit, handle, x, native, prompted = _prompted_vit(family)
    twin, twin_handle = copy.deepcopy((vit, handle))
    assert twin_handle.detach() is twin
    assert hook_count(twin) == 0
    assert [p.requires_grad for p in twin.parameters()] == flags
    assert torch.equal(_pooled(twin, x), native)
    assert torch.equal(_pooled(vit, x), prompted)  # the original keeps its hooks


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_deepcopied_model_is_independent_of_the_original(pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    vid, aud = make_inputs(a_shape, v_shape)
    flags = [p.requires_grad for p in audio.parameters()], [p.requires_grad for p in video.parameters()]
    model = wrap(audio, video, prompts={"num_prompts": 4, "schedule": {0: 2}})
    randomise_gates(model)
    with torch.no_grad():
        adapted = model(vid, aud)
        with model.disable_adapters():
            native = model(vid, aud)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        assert torch.equal(twin(vid, aud), adapted)
        with model.disable_adapters():  # the original's switch does not reach the twin's hooks
            assert torch.equal(twin(vid, aud), adapted)
        with twin.disable_adapters():
            assert torch.equal(twin(vid, aud), native)
            assert torch.equal(model(vid, aud), adapted)
        trained = model.prompts["video"].progressive[0].clone()
        model.prompts["video"].progressive[0].add_(torch.randn_like(trained))
        assert not torch.allclose(model(vid, aud), adapted)
        assert torch.equal(twin(vid, aud), adapted)

    twin_audio, twin_video = twin.detach()
    assert hook_count(twin_audio) == hook_count(twin_video) == 0
    assert [p.requires_grad for p in twin_audio.parameters()] == flags[0]
    assert [p.requires_grad for p in twin_video.parameters()] == flags[1]
    with torch.no_grad():
        model.prompts["video"].progressive[0].copy_(trained)
        assert torch.equal(model(vid, aud), adapted)  # the original is still attached and unchanged
