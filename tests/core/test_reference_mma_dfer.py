"""The ``mma-dfer`` preset equals a plain loop written here from OFFICIAL_SEMANTICS.md (§1–§3) over timm blocks."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from .backbones import timm_vit
from .helpers import make_inputs, randomise_gates, wrap


def official_loop(model, video, audio):
    """What the official GenerateModel.forward computes, step by step, on the model's own tensors."""
    A, V = model.backbones["audio"], model.backbones["video"]
    ap, vp = model.prompts["audio"], model.prompts["video"]
    n, t = video.shape[:2]
    depth = len(V.blocks)
    half = depth // 2  # the official `ii % 6 == 0` on 12 blocks: updates after blocks 0 and depth/2

    def embed(vit, x, prompts, pos_key):
        x = vit.patch_embed(x)
        x = torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), x, prompts.prompts.expand(x.shape[0], -1, -1)], 1)
        full_pos = torch.cat([model.pos_embeds[pos_key]["pos_embed"], prompts.prompt_pos.unsqueeze(0)], dim=1)
        return x + full_pos

    a = embed(A, audio, ap, "audio")
    v = embed(V, video.flatten(0, 1), vp, "video")
    n_seq_a, n_seq_v = a.shape[1] - 1 - ap.num_prompts, v.shape[1] - 1 - vp.num_prompts
    for ii in range(depth):
        a = A.blocks[ii](a)
        v = V.blocks[ii](v)
        f = model.fusion[ii]
        v_lo = f.down["video"](v)
        a_lo = f.down["audio"](a)
        v_in = v_lo + a_lo.mean(1, keepdim=True).repeat_interleave(t, dim=0)
        a_in = a_lo + v_lo.view(n, t, v_lo.shape[1], -1).mean(1).mean(1, keepdim=True)
        v = v + torch.tanh(f.gate["video"]) * F.gelu(f.up["video"][0](v_in))
        a = a + torch.tanh(f.gate["audio"]) * F.gelu(f.up["audio"][0](a_in))
        if ii % half == 0 and ii // half < len(vp.progressive):
            k = ii // half
            v = v.clone()
            a = a.clone()
            v[:, n_seq_v + 1 + 3 * k : n_seq_v + 1 + 3 * k + 3] += vp.progressive[k]
            a[:, n_seq_a + 1 + 3 * k : n_seq_a + 1 + 3 * k + 3] += ap.progressive[k]
    v = V.norm(v)[:, 0]
    a = A.norm(a)[:, 0]

    head = model.head
    x = head.joint.proj(v.view(n, t, -1) + a[:, None, :])
    tt = head.temporal
    x = torch.cat([tt.cls_token.expand(n, -1, -1), x], dim=1) + tt.pos_embedding[:, : t + 1]
    for attn, ff in tt.layers:
        h = attn.norm(x)
        q = attn.to_q(h)
        k_, v_ = attn.to_kv(h).chunk(2, dim=-1)
        heads = attn.heads
        q, k_, v_ = (z.view(n, -1, heads, z.shape[-1] // heads).transpose(1, 2) for z in (q, k_, v_))
        dots = q @ k_.transpose(-1, -2) * (q.shape[-1] ** -0.5)
        o = (dots.softmax(-1) @ v_).transpose(1, 2).reshape(n, -1, q.shape[-1] * heads)
        x = x + attn.to_out(o)
        h = ff.norm(x)
        lin1, _, _, lin2, _ = ff.net
        u = lin1(h)
        u = 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u**3)))
        x = x + lin2(u)
    return head.classifier(x[:, 0])


@pytest.mark.parametrize("t", [1, 4])
def test_preset_equals_official_loop_with_gates_and_progressive_prompts(t):
    torch.manual_seed(0)
    audio, a_shape = timm_vit(1, size=(64, 32), depth=4, embed_dim=32, num_heads=2)
    video, v_shape = timm_vit(3, size=(32, 32), depth=4, embed_dim=32, num_heads=2)
    model = wrap(audio, video)
    assert model.prompts["video"].schedule == {0: 3, 2: 3}
    randomise_gates(model, scale=0.9)
    with torch.no_grad():
        for p in model.adapter_parameters():
            p.add_(torch.randn_like(p) * 0.05)
    vid, aud = make_inputs(a_shape, v_shape, n=2, t=t)
    with torch.no_grad():
        ours = model(vid, aud)
        ref = official_loop(model, vid, aud)
    assert ours.shape == (2, 5)
    assert (ours - ref).abs().max() < 1e-6
