"""Self-consistency of the official-forward oracle: timm equivalence, fusion gating, clip pairing, head."""

from functools import partial

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from ._keys import (
    TINY_HEADS,
    TINY_TEMPORAL_HEADS,
    TINY_WIDTHS,
    official_state_dict,
    parse_official_keys,
)
from ._reference import encoder_streams, official_forward, official_head

S = 112
N_PROMPTS, PROGR = 6, 3  # official prompt count and progressive chunk (added after blocks 0 and 6)
SHORT_FRAMES = 32  # audio cut to 2 x 8 patches so the ViT-B comparisons stay fast on a CPU
FUSION_PARTS = ("temporal_pre", "temporal_pre_norm", "audio_proj_pre", "temporal_att_post")


@pytest.fixture(scope="module")
def official_sd_112():
    """Generated once per module: 179M random values are the slow part."""
    return official_state_dict(S)


def test_state_dict_has_listed_keys_shapes_and_dtypes(official_sd_112):
    specs = parse_official_keys(S)
    assert list(official_sd_112) == [s.key for s in specs]
    for spec in specs:
        value = official_sd_112[spec.key]
        assert value.shape == spec.shape and value.dtype == spec.dtype, spec.key


@pytest.fixture(scope="module")
def full_sd(official_sd_112):
    """ViT-B sized official state dict, gates at 0, audio pos_embed cut to SHORT_FRAMES."""
    sd = {k: (torch.zeros_like(v) if ".all_gate." in k else v) for k, v in official_sd_112.items()}
    pos = sd["audio_model.pos_embed"]
    grid = SHORT_FRAMES // 16 * 8
    sd["audio_model.pos_embed"] = torch.cat([pos[:, : 1 + grid], pos[:, -N_PROMPTS:]], dim=1)
    return sd


def _without_prompts(sd):
    out = dict(sd)
    for enc in ("image_encoder", "audio_model"):
        out[f"{enc}.pos_embed"] = sd[f"{enc}.pos_embed"][:, :-N_PROMPTS]
        for name in ("learnable_prompts_init", "learnable_prompts_progr.0", "learnable_prompts_progr.1"):
            out[f"{enc}.{name}"] = sd[f"{enc}.{name}"][:0]
    return out


def _timm_vit(sd, enc, img_size, in_chans, num_classes):
    vit = VisionTransformer(
        img_size=img_size,
        patch_size=16,
        in_chans=in_chans,
        num_classes=num_classes,
        embed_dim=768,
        depth=12,
        num_heads=12,
        qkv_bias=True,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        weight_init="skip",
    )
    own = {k[len(enc) + 1 :]: v for k, v in sd.items() if k.startswith(enc + ".")}
    wanted = dict.fromkeys(vit.state_dict())
    state = {k: own[k] for k in wanted}
    grid = vit.patch_embed.num_patches
    state["pos_embed"] = own["pos_embed"][:, : 1 + grid]
    vit.load_state_dict(state, strict=True)
    return vit.eval()


@pytest.fixture(scope="module")
def timm_pair(full_sd):
    return (
        _timm_vit(full_sd, "image_encoder", S, 3, 12),
        _timm_vit(full_sd, "audio_model", (SHORT_FRAMES, 128), 1, 1000),
    )


@pytest.fixture(scope="module")
def inputs():
    gen = torch.Generator().manual_seed(0)
    return torch.rand(1, 2, 3, S, S, generator=gen), torch.randn(1, 1, SHORT_FRAMES, 128, generator=gen)


def test_no_prompts_zero_gates_equals_timm(full_sd, timm_pair, inputs):
    video, audio = inputs
    vit_v, vit_a = timm_pair
    with torch.no_grad():
        v_cls, a_cls = encoder_streams(_without_prompts(full_sd), video, audio, S)
        torch.testing.assert_close(v_cls, vit_v.forward_features(video[0])[:, 0], rtol=0, atol=1e-5)
        torch.testing.assert_close(a_cls, vit_a.forward_features(audio)[:, 0], rtol=0, atol=1e-5)


def _timm_with_prompts(vit, sd, enc, images):
    """Prompt layout of section 1-2 driven through timm's own modules."""
    x = vit.patch_embed(images)
    n_seq, batch = x.shape[1], x.shape[0]
    prompts = sd[f"{enc}.learnable_prompts_init"].expand(batch, -1, -1)
    x = torch.cat([vit.cls_token.expand(batch, -1, -1), x, prompts], dim=1) + sd[f"{enc}.pos_embed"]
    for i, block in enumerate(vit.blocks):
        x = block(x)
        if i in (0, 6):
            k = i // 6
            x[:, n_seq + 1 + PROGR * k : n_seq + 1 + PROGR * (k + 1)] += sd[f"{enc}.learnable_prompts_progr.{k}"]
    return vit.norm(x)[:, 0]


def test_prompts_zero_gates_equals_timm_blocks(full_sd, timm_pair, inputs):
    video, audio = inputs
    vit_v, vit_a = timm_pair
    with torch.no_grad():
        v_cls, a_cls = encoder_streams(full_sd, video, audio, S)
        v_timm = _timm_with_prompts(vit_v, full_sd, "image_encoder", video[0])
        a_timm = _timm_with_prompts(vit_a, full_sd, "audio_model", audio)
        plain, _ = encoder_streams(_without_prompts(full_sd), video, audio, S)
    torch.testing.assert_close(v_cls, v_timm, rtol=0, atol=1e-5)
    torch.testing.assert_close(a_cls, a_timm, rtol=0, atol=1e-5)
    assert (v_cls - plain).abs().max() > 1e-3  # the prompts do take part in attention


def _module(module, sd, name):
    module.load_state_dict({k: sd[f"{name}.{k}"] for k in module.state_dict()})
    return module


def test_head_equals_torch_modules(full_sd):
    """Section 3 rebuilt from nn modules: MultiheadAttention takes to_q and to_kv (k then v) stacked."""
    gen = torch.Generator().manual_seed(1)
    n, t, width = 2, 16, 768
    v_cls, a_cls = torch.randn(n * t, width, generator=gen), torch.randn(n, width, generator=gen)
    layer = "temporal_net.temporal_transformer.layers.0"
    attn = nn.MultiheadAttention(512, 8, bias=False, batch_first=True)
    q_kv = [full_sd[f"{layer}.0.fn.fn.to_q.weight"], full_sd[f"{layer}.0.fn.fn.to_kv.weight"]]
    attn.in_proj_weight.data = torch.cat(q_kv)
    attn.out_proj = _module(nn.Linear(512, 512), full_sd, f"{layer}.0.fn.fn.to_out.0")
    norm1 = _module(nn.LayerNorm(512, eps=1e-5), full_sd, f"{layer}.0.fn.norm")
    norm2 = _module(nn.LayerNorm(512, eps=1e-5), full_sd, f"{layer}.1.fn.norm")
    ff = nn.Sequential(
        _module(nn.Linear(512, 1024), full_sd, f"{layer}.1.fn.fn.net.0"),
        nn.GELU(approximate="tanh"),
        _module(nn.Linear(1024, 512), full_sd, f"{layer}.1.fn.fn.net.3"),
    )
    proj = _module(nn.Linear(width, 512), full_sd, "vision_proj")
    classifier = _module(nn.Linear(512, 7), full_sd, "our_classifier")
    with torch.no_grad():
        x = proj(v_cls.view(n, t, width) + a_cls[:, None])
        x = torch.cat([full_sd["temporal_net.cls_token"].expand(n, -1, -1), x], dim=1)
        x = x + full_sd["temporal_net.pos_embedding"]
        h = norm1(x)
        x = x + attn(h, h, h, need_weights=False)[0]
        x = x + ff(norm2(x))
        expected = classifier(x[:, 0])
        torch.testing.assert_close(official_head(full_sd, v_cls, a_cls), expected, rtol=0, atol=1e-5)


# ---- the full forward at the official layout with tiny widths (fast) ----


@pytest.fixture(scope="module")
def tiny_inputs():
    gen = torch.Generator().manual_seed(2)
    return torch.rand(2, 16, 3, S, S, generator=gen), torch.randn(2, 1, 512, 128, generator=gen)


def _forward(sd, video, audio):
    return official_forward(sd, video, audio, S, num_heads=TINY_HEADS, temporal_heads=TINY_TEMPORAL_HEADS)


def _perturb_fusion(sd):
    return {k: (v + 0.5 if any(f".{part}." in k for part in FUSION_PARTS) else v) for k, v in sd.items()}


def test_zero_gates_make_fusion_weights_irrelevant(tiny_inputs):
    video, audio = tiny_inputs[0][:1], tiny_inputs[1][:1]
    zero = official_state_dict(S, widths=TINY_WIDTHS, nonzero_gates=False)
    assert torch.equal(_forward(zero, video, audio), _forward(_perturb_fusion(zero), video, audio))
    live = official_state_dict(S, widths=TINY_WIDTHS)
    assert (_forward(live, video, audio) - _forward(_perturb_fusion(live), video, audio)).abs().max() > 1e-4


def test_clips_are_paired_and_independent(tiny_inputs):
    video, audio = tiny_inputs
    sd = official_state_dict(S, widths=TINY_WIDTHS, num_classes=5)
    both = _forward(sd, video, audio)
    assert both.shape == (2, 5)
    for i in range(2):
        alone = _forward(sd, video[i : i + 1], audio[i : i + 1])
        torch.testing.assert_close(both[i : i + 1], alone, rtol=0, atol=1e-5)
    video = video[:, :2]  # the streams accept any frame count; 2 keeps this fast
    other_frames = video.clone()
    other_frames[1] = other_frames[1].flip(-1)  # only clip 1's frames change
    with torch.no_grad():
        v_cls, a_cls = encoder_streams(sd, video, audio, S, num_heads=TINY_HEADS)
        v_swap, _ = encoder_streams(sd, video, audio.flip(0), S, num_heads=TINY_HEADS)
        v_new, a_new = encoder_streams(sd, other_frames, audio, S, num_heads=TINY_HEADS)
    assert (v_swap[:2] - v_cls[:2]).abs().max() > 1e-3  # audio -> vision: clip 0 now hears clip 1
    assert (a_new[1] - a_cls[1]).abs().max() > 1e-3  # vision -> audio, within clip 1
    torch.testing.assert_close(a_new[0], a_cls[0], rtol=0, atol=1e-6)  # clip 0 untouched
    torch.testing.assert_close(v_new[:2], v_cls[:2], rtol=0, atol=1e-6)


def test_parallel_prefix_and_shape_checks(tiny_inputs):
    video, audio = tiny_inputs
    sd = official_state_dict(S, widths=TINY_WIDTHS)
    wrapped = {f"module.{k}": v for k, v in sd.items()}
    assert torch.equal(_forward(wrapped, video[:1], audio[:1]), _forward(sd, video[:1], audio[:1]))
    with pytest.raises(ValueError, match="expects 16 frames, got 8"):
        _forward(sd, video[:1, :8], audio[:1])
    with pytest.raises(ValueError, match="video must be"):
        official_forward(sd, video[:1], audio[:1], 160, num_heads=TINY_HEADS)
