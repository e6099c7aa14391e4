"""VPT-style prompts on one ViT: its own forward() uses them, pooling ignores them, detach() restores it."""

from __future__ import annotations

import pytest
import torch

import mmadapt
from mmadapt import PromptConfig

from .backbones import hf_vit, timm_vit
from .helpers import hook_count, snapshot


@pytest.mark.parametrize("factory", [timm_vit, hf_vit, lambda c: timm_vit(c, class_token=False, global_pool="avg")])
def test_attach_prompts_changes_forward_and_detach_restores(factory):
    torch.manual_seed(0)
    vit, shape = factory(3)
    x = torch.randn(2, *shape)
    anatomy = mmadapt.resolve_anatomy(vit)
    with torch.no_grad():
        ref_tokens = anatomy.native_tokens(x)
    state = snapshot(vit)
    handle = mmadapt.attach_prompts(vit, PromptConfig(num_prompts=3, schedule={0: 2}))
    assert all(not p.requires_grad for p in vit.parameters())
    tokens = anatomy.native_tokens(x)
    assert tokens.shape == ref_tokens.shape  # prompts stripped before the caller sees the sequence
    assert not torch.allclose(tokens, ref_tokens)
    pooled = anatomy.native_pooled(x)
    (pooled * torch.randn_like(pooled)).sum().backward()  # a plain sum of a LayerNorm output has no gradient
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in handle.parameters())
    assert handle.detach() is vit
    assert hook_count(vit) == 0
    assert all(torch.equal(v, state[k]) for k, v in vit.state_dict().items())
    with torch.no_grad():
        assert torch.equal(anatomy.native_tokens(x), ref_tokens)


def test_avg_pool_excludes_prompts():
    torch.manual_seed(0)
    vit, shape = timm_vit(3, class_token=False, global_pool="avg")
    handle = mmadapt.attach_prompts(vit, PromptConfig(num_prompts=2, progressive=False))
    x = torch.randn(1, *shape)
    captured = {}
    vit.blocks[-1].register_forward_hook(lambda m, a, o: captured.setdefault("last", o))
    with torch.no_grad():
        pooled = vit.forward_head(vit.forward_features(x), pre_logits=True)
        assert isinstance(vit.norm, torch.nn.Identity)  # avg pooling: fc_norm after the mean
        manual = vit.fc_norm(captured["last"][:, :-2].mean(dim=1))
    assert torch.allclose(pooled, manual, atol=1e-6)
    handle.detach()


def test_schedule_derivation():
    c = PromptConfig()
    assert c.resolve_schedule(12) == {0: 3, 6: 3}
    assert c.resolve_schedule(24) == {0: 3, 12: 3}
    assert c.resolve_schedule(4) == {0: 3, 2: 3}
    assert c.resolve_schedule(2) == {0: 3}  # an update after the last block would be stripped unseen
    assert PromptConfig(progressive=False).resolve_schedule(12) == {}
    assert PromptConfig(num_prompts=12, num_updates=4).resolve_schedule(12) == {0: 3, 3: 3, 6: 3, 9: 3}
    assert PromptConfig.from_dict({"schedule": {"0": 2, "5": 1}}).schedule == {0: 2, 5: 1}
