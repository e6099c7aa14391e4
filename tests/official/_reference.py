"""Readable re-implementation of the official MMA-DFER ``GenerateModel`` forward (eval mode).

Written directly on the official state-dict key names with ``torch.nn.functional`` only, following
shared/mma-dfer/OFFICIAL_SEMANTICS.md sections 1-3. It is a test oracle: no timm, no mmadapt.
Sizes (width, depth, patch, prompt counts, fusion width, temporal layers) are read from the state dict.

Shape legend: n videos, t frames, B = n*t frame images, S image side, P vision patches, A audio patches,
N tokens, D backbone width, d fusion width, E temporal width, H heads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["encoder_streams", "official_forward", "official_head", "strip_parallel_prefix"]

BACKBONE_EPS = 1e-6  # timm ViT LayerNorms
FUSION_EPS = 1e-5  # nn.LayerNorm(128) default in the fusion modules
TEMPORAL_EPS = 1e-5  # nn.LayerNorm default in the temporal transformer
VISION, AUDIO = "image_encoder", "audio_model"

StateDict = Mapping[str, Tensor]


def strip_parallel_prefix(sd: StateDict) -> dict[str, Tensor]:
    """Drop DataParallel's ``module.`` prefix (official checkpoints have it on every key)."""
    if all(k.startswith("module.") for k in sd):
        return {k[len("module.") :]: v for k, v in sd.items()}
    return dict(sd)


def _linear(x: Tensor, sd: StateDict, name: str) -> Tensor:
    return F.linear(x, sd[f"{name}.weight"], sd.get(f"{name}.bias"))


def _layer_norm(x: Tensor, sd: StateDict, name: str, eps: float) -> Tensor:
    return F.layer_norm(x, (x.shape[-1],), sd[f"{name}.weight"], sd[f"{name}.bias"], eps)


def _count(sd: StateDict, prefix: str) -> int:
    """Number of consecutive indices i with a key ``{prefix}.{i}`` or ``{prefix}.{i}.*``."""
    i = 0
    while any(k == f"{prefix}.{i}" or k.startswith(f"{prefix}.{i}.") for k in sd):
        i += 1
    return i


def _gelu_tanh(x: Tensor) -> Tensor:
    """The temporal transformer's own GELU: the tanh approximation."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def _vit_block(x: Tensor, sd: StateDict, name: str, num_heads: int) -> Tensor:
    """timm pre-norm block in eval: x + proj(SDPA(qkv(LN x))), then x + fc2(GELU(fc1(LN x)))."""
    b, n_tok, width = x.shape
    h = _layer_norm(x, sd, f"{name}.norm1", BACKBONE_EPS)
    qkv = _linear(h, sd, f"{name}.attn.qkv").reshape(b, n_tok, 3, num_heads, width // num_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, H, N, D/H)
    att = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n_tok, width)
    x = x + _linear(att, sd, f"{name}.attn.proj")
    h = _layer_norm(x, sd, f"{name}.norm2", BACKBONE_EPS)
    return x + _linear(F.gelu(_linear(h, sd, f"{name}.mlp.fc1")), sd, f"{name}.mlp.fc2")


def _embed(sd: StateDict, enc: str, images: Tensor) -> Tensor:
    """[CLS | patches (row-major) | prompts_init] + full pos_embed -> (batch, 1 + grid + prompts, D)."""
    weight = sd[f"{enc}.patch_embed.proj.weight"]
    patches = F.conv2d(images, weight, sd[f"{enc}.patch_embed.proj.bias"], stride=weight.shape[-1])
    patches = patches.flatten(2).transpose(1, 2)  # (batch, grid, D), first spatial axis outermost
    batch = images.shape[0]
    cls_tok = sd[f"{enc}.cls_token"].expand(batch, -1, -1)
    prompts = sd[f"{enc}.learnable_prompts_init"].expand(batch, -1, -1)
    tokens = torch.cat([cls_tok, patches, prompts], dim=1)
    pos = sd[f"{enc}.pos_embed"]
    if pos.shape[1] != tokens.shape[1]:
        raise ValueError(f"{enc}: input gives {tokens.shape[1]} tokens, pos_embed has {pos.shape[1]}")
    return tokens + pos


def _add_progressive(x: Tensor, sd: StateDict, enc: str, k: int, n_seq: int) -> Tensor:
    prompt = sd[f"{enc}.learnable_prompts_progr.{k}"]  # (3, D)
    start = n_seq + 1 + prompt.shape[0] * k
    x = x.clone()
    x[:, start : start + prompt.shape[0]] = x[:, start : start + prompt.shape[0]] + prompt
    return x


def encoder_streams(
    sd: StateDict, video: Tensor, audio: Tensor, img_size: int, num_heads: int = 12
) -> tuple[Tensor, Tensor]:
    """Both backbones in lockstep with the fusion exchange (section 2): vision CLS (B, D), audio CLS (n, D).

    ``video`` (n, t, 3, S, S), flattened frame-major; ``audio`` (n, 1, frames, mel). Any ``t`` is accepted
    here (the official model requires its temporal length only in the head).
    """
    sd = strip_parallel_prefix(sd)
    n, t = video.shape[:2]
    if video.shape[2:] != (3, img_size, img_size):
        raise ValueError(f"video must be (n, t, 3, {img_size}, {img_size}), got {tuple(video.shape)}")
    if audio.shape[0] != n or audio.ndim != 4:
        raise ValueError(f"audio must be ({n}, 1, frames, mel), got {tuple(audio.shape)}")
    depth = _count(sd, f"{VISION}.blocks")
    if _count(sd, f"{AUDIO}.blocks") != depth:
        raise ValueError("the two backbones have different depths")

    v = _embed(sd, VISION, video.reshape(n * t, *video.shape[2:]))  # (B, 1+P+6, D)
    a = _embed(sd, AUDIO, audio)  # (n, 1+A+6, D)
    n_prompts = sd[f"{VISION}.learnable_prompts_init"].shape[0]
    v_seq, a_seq = v.shape[1] - 1 - n_prompts, a.shape[1] - 1 - n_prompts  # P, A
    n_progr = _count(sd, f"{VISION}.learnable_prompts_progr")
    every = depth // n_progr if n_progr else 0  # official: ii % 6 == 0 for 12 blocks and 2 groups

    for ii in range(depth):
        # a. backbone blocks
        a = _vit_block(a, sd, f"{AUDIO}.blocks.{ii}", num_heads)
        v = _vit_block(v, sd, f"{VISION}.blocks.{ii}", num_heads)
        # b. low-dimensional projections of every token
        v_lo = _linear(v, sd, f"{VISION}.temporal_pre.{ii}")
        v_lo = _layer_norm(v_lo, sd, f"{VISION}.temporal_pre_norm.{ii}", FUSION_EPS)  # (B, 1+P+6, d)
        a_lo = _linear(a, sd, f"{VISION}.audio_proj_pre.{ii}.0")
        a_lo = _layer_norm(a_lo, sd, f"{VISION}.audio_proj_pre.{ii}.1", FUSION_EPS)  # (n, 1+A+6, d)
        # c. exchange of means over all tokens; vision uses v_lo before the audio mean is added
        audio_mean = a_lo.mean(dim=1, keepdim=True).repeat_interleave(t, dim=0)  # (B, 1, d)
        video_mean = v_lo.view(n, t, *v_lo.shape[1:]).mean(dim=1).mean(dim=1, keepdim=True)  # (n, 1, d)
        v_in, a_in = v_lo + audio_mean, a_lo + video_mean
        # d. gated residuals
        v_up = F.gelu(_linear(v_in, sd, f"{VISION}.temporal_att_post.{ii}.0"))  # (B, 1+P+6, D)
        a_up = F.gelu(_linear(a_in, sd, f"{AUDIO}.temporal_att_post.{ii}.0"))  # (n, 1+A+6, D)
        v = v + torch.tanh(sd[f"{VISION}.all_gate.{ii}"]) * v_up
        a = a + torch.tanh(sd[f"{AUDIO}.all_gate.{ii}"]) * a_up
        # e. progressive prompts added onto existing prompt tokens
        if every and ii % every == 0 and ii // every < n_progr:
            v = _add_progressive(v, sd, VISION, ii // every, v_seq)
            a = _add_progressive(a, sd, AUDIO, ii // every, a_seq)
    # f. final norm, CLS token
    v_cls = _layer_norm(v, sd, f"{VISION}.norm", BACKBONE_EPS)[:, 0]
    a_cls = _layer_norm(a, sd, f"{AUDIO}.norm", BACKBONE_EPS)[:, 0]
    return v_cls, a_cls


def _temporal_attention(x: Tensor, sd: StateDict, name: str, heads: int) -> Tensor:
    n, n_tok, _ = x.shape
    q = _linear(x, sd, f"{name}.to_q")
    k, v = _linear(x, sd, f"{name}.to_kv").chunk(2, dim=-1)  # k first, then v

    def split(z: Tensor) -> Tensor:  # (n, N, H*dh) -> (n, H, N, dh)
        return z.reshape(n, n_tok, heads, z.shape[-1] // heads).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    dots = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
    out = (dots.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, n_tok, -1)
    return _linear(out, sd, f"{name}.to_out.0")


def official_head(sd: StateDict, v_cls: Tensor, a_cls: Tensor, temporal_heads: int = 8) -> Tensor:
    """Section 3: vision_proj(v + a) -> temporal transformer (token 0, no final norm) -> classifier."""
    sd = strip_parallel_prefix(sd)
    n = a_cls.shape[0]
    z = _linear(v_cls.view(n, -1, v_cls.shape[-1]) + a_cls[:, None, :], sd, "vision_proj")  # (n, t, E)
    t = z.shape[1]
    pos = sd["temporal_net.pos_embedding"]
    if pos.shape[1] != t + 1:
        raise ValueError(f"the temporal transformer expects {pos.shape[1] - 1} frames, got {t}")
    x = torch.cat([sd["temporal_net.cls_token"].expand(n, -1, -1), z], dim=1) + pos  # (n, 1+t, E)
    for layer in range(_count(sd, "temporal_net.temporal_transformer.layers")):
        name = f"temporal_net.temporal_transformer.layers.{layer}"
        h = _layer_norm(x, sd, f"{name}.0.fn.norm", TEMPORAL_EPS)
        x = x + _temporal_attention(h, sd, f"{name}.0.fn.fn", temporal_heads)
        h = _linear(_layer_norm(x, sd, f"{name}.1.fn.norm", TEMPORAL_EPS), sd, f"{name}.1.fn.fn.net.0")
        x = x + _linear(_gelu_tanh(h), sd, f"{name}.1.fn.fn.net.3")
    return _linear(x[:, 0], sd, "our_classifier")


def official_forward(
    sd: StateDict, video: Tensor, audio: Tensor, img_size: int, num_heads: int = 12, temporal_heads: int = 8
) -> Tensor:
    """Logits (n, classes) of the official model for ``video`` (n, t, 3, S, S) and ``audio`` (n, 1, 512, 128)."""
    with torch.no_grad():
        v_cls, a_cls = encoder_streams(sd, video, audio, img_size, num_heads)
        return official_head(sd, v_cls, a_cls, temporal_heads)
