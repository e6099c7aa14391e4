"""Table 7: progressive prompts with 12 / 6 / 4 / 2 / 0 updates, and what L updates mean when L does not divide M.

Specification (``PromptConfig`` docstring, docs/kinds-prompts.md): update l of L follows block floor(l·D/L) (every
(D/L)-th block from block 0, as the official ``ii % 6 == 0``) and adds a fresh tensor to prompt tokens
[floor(l·M/L), max(floor((l+1)·M/L), floor(l·M/L) + 1)): eq. (1)'s slice rounded down, at least one token. An update
after the last block is left out; updates sharing a block merge. L = 2 is the official schedule, bit for bit.
"""

from __future__ import annotations

import pytest
import timm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import mmadapt
from mmadapt import PromptConfig
from tests.core.backbones import timm_vit

# 12 blocks, M = 6 (the paper's ViT-B encoders): {after_block: (first, end)} per Table-7 row
TABLE7_SLICES = {
    12: {b: (b // 2, b // 2 + 1) for b in range(11)},  # every block; the 12th update would follow the last block
    6: {0: (0, 1), 2: (1, 2), 4: (2, 3), 6: (3, 4), 8: (4, 5), 10: (5, 6)},  # every 2nd block
    4: {0: (0, 1), 3: (1, 3), 6: (3, 4), 9: (4, 6)},  # every 3rd block, 1.5 tokens each rounded: 1, 2, 1, 2
    2: {0: (0, 3), 6: (3, 6)},  # every 6th block: OFFICIAL_SEMANTICS §2e (after blocks 0 and 6, 3 tokens each)
    0: {},
}


@pytest.mark.parametrize("updates", list(TABLE7_SLICES))
def test_table7_slices_on_twelve_blocks(updates):
    config = PromptConfig(num_prompts=6, num_updates=updates)
    assert config.resolve_slices(12) == TABLE7_SLICES[updates]
    assert config.resolve_schedule(12) == {b: e - s for b, (s, e) in TABLE7_SLICES[updates].items()}


def test_two_updates_keep_the_official_schedule_and_parameter_shapes():
    stream = mmadapt.StreamInfo("video", True, 768, 12, 101, 1)
    injector = PromptConfig().resolve_slices(12)
    assert injector == {0: (0, 3), 6: (3, 6)}
    prompts = mmadapt.PromptInjector(PromptConfig(), stream)
    assert [tuple(p.shape) for p in prompts.progressive] == [(3, 768), (3, 768)]
    assert prompts._slices == {0: (0, 0, 3), 6: (1, 3, 6)}


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 16), updates=st.integers(1, 30), depth=st.integers(1, 30))
def test_derived_slices_generalise_eq1(m, updates, depth):
    slices = PromptConfig(num_prompts=m, num_updates=updates).resolve_slices(depth)
    blocks = list(slices)
    assert blocks == sorted(blocks) and all(0 <= b < depth - 1 for b in blocks)  # nothing after the last block
    bounds = list(slices.values())
    assert all(0 <= s < e <= m for s, e in bounds)  # at least one token, inside the prompts
    assert all(s1 <= s2 and e1 <= e2 for (s1, e1), (s2, e2) in zip(bounds, bounds[1:]))  # early tokens early
    if updates < depth:  # every update has its own block before the last
        assert blocks == [(k * depth) // updates for k in range(updates)]
        if updates <= m:  # the slices partition the prompts in order
            assert [s for s, _ in bounds] + [m] == [(k * m) // updates for k in range(updates + 1)]
            assert all(e == s2 for (_, e), (s2, _) in zip(bounds, bounds[1:]))
        if m % updates == 0:  # eq. (1) exactly: M/L tokens per update, slice l-1 at the l-th update
            assert bounds == [(k * (m // updates), (k + 1) * (m // updates)) for k in range(updates)]


def _reference_forward(vit, config: PromptConfig, injector, x):
    """Eq. (1) on a timm ViT by hand: tokens + prompts, then after block i, P[lo:hi] += P^i; final norm; strip."""
    t = vit._pos_embed(vit.patch_embed(x))  # (B, N, D)
    p = (injector.prompts + injector.prompt_pos).expand(x.shape[0], -1, -1)
    t = torch.cat([t, p], dim=1)  # (B, N + M, D)
    first = t.shape[1] - config.num_prompts
    for i, block in enumerate(vit.blocks):
        t = block(t)
        if i in injector._slices:
            k, lo, hi = injector._slices[i]
            t = t.clone()
            t[:, first + lo : first + hi] += injector.progressive[k]
    return vit.norm(t)[:, :first]


@pytest.mark.parametrize(("m", "updates"), [(6, 4), (6, 12), (4, 3), (5, 2)])
def test_forward_with_non_dividing_updates_equals_eq1_by_hand(m, updates):
    torch.manual_seed(0)
    vit, shape = timm_vit(3, depth=6)
    config = PromptConfig(num_prompts=m, num_updates=updates)
    handle = mmadapt.attach_prompts(vit, config)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        for p in handle.injector.progressive:  # non-trivial updates
            p.normal_()
        got = vit.forward_features(x)
        handle.injector.enabled = False  # the reference calls the hooked modules: hooks pass through
        want = _reference_forward(vit, config, handle.injector, x)
    assert len(handle.injector.progressive) == min(updates, 5)  # depth 6: at most one update per block but the last
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    handle.detach()


def _vit_b_pair():
    with torch.device("meta"):
        audio = timm.create_model(
            "vit_base_patch16_224", pretrained=False, num_classes=0, img_size=(512, 128), in_chans=1
        )
        video = timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0, img_size=160)
    return audio, video


@pytest.mark.parametrize("updates", list(TABLE7_SLICES))
def test_table7_presets_on_vit_b(updates):
    audio, video = _vit_b_pair()
    with torch.device("meta"):
        model = mmadapt.wrap_encoders(audio, video, preset=f"mma-dfer-updates-{updates}", num_classes=7)
    if updates == 0:  # the paper's 0 row is Table 4's no-prompts row: no prompt tokens at all
        assert len(model.prompts) == 0
    else:
        for s in ("audio", "video"):
            assert model.prompts[s].schedule == {b: e - s0 for b, (s0, e) in TABLE7_SLICES[updates].items()}
    count = model.get_nb_trainable_parameters()[0]
    model.detach()
    with torch.device("meta"):
        same = "mma-dfer" if updates == 2 else "mma-dfer-no-prompts" if updates == 0 else None
        if same is not None:
            ref = mmadapt.wrap_encoders(audio, video, preset=same, num_classes=7)
            assert ref.get_nb_trainable_parameters()[0] == count
            ref.detach()


def test_updates_2_and_0_are_mma_dfer_and_no_prompts():
    a, v = _vit_b_pair()
    anatomies = {"audio": mmadapt.resolve_anatomy(a), "video": mmadapt.resolve_anatomy(v)}
    for alias, same in (("mma-dfer-updates-2", "mma-dfer"), ("mma-dfer-updates-0", "mma-dfer-no-prompts")):
        got = mmadapt.get_preset(alias, anatomies).to_dict()
        want = mmadapt.get_preset(same, anatomies).to_dict()
        assert {**got, "preset": None} == {**want, "preset": None}


def test_twelve_updates_no_longer_fail():
    # before: "cannot spread 12 updates over 6 prompts; give a schedule"
    assert len(PromptConfig(num_prompts=6, num_updates=12).resolve_schedule(12)) == 11
