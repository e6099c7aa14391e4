"""The ``late-concat`` head computes the CLAIP-Emo head as written down: a ``Temporal_Transformer_Cls`` per per-frame
stream in its own width, the per-clip streams' pooled features as they are, concatenation in stream order, Linear.

The reference below is plain tensor algebra from the recorded semantics (pre-norm, q / kv projections without
bias, k before v, softmax attention at Dh^-0.5, tanh-GELU by its formula, no final norm, output = CLS), fed with the
head's own (randomised) weights.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt import LateConcatConfig, StreamInfo
from mmadapt.adapters.temporal.late_concat import LateConcatHead


def _tanh_gelu(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _reference_tower(tower, x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, D) -> (B, D), Temporal_Transformer_Cls step by step."""
    b, t, d = x.shape
    x = torch.cat([tower.cls_token.expand(b, 1, d), x], dim=1) + tower.pos_embedding[:, : t + 1]
    for attn, ff in tower.layers:
        h = F.layer_norm(x, (d,), attn.norm.weight, attn.norm.bias, attn.norm.eps)
        q = h @ attn.to_q.weight.T
        kv = h @ attn.to_kv.weight.T
        k, v = kv[..., : kv.shape[-1] // 2], kv[..., kv.shape[-1] // 2 :]
        split = lambda z: z.reshape(b, t + 1, heads, -1).permute(0, 2, 1, 3)  # noqa: E731  (B, H, N, Dh)
        q, k, v = split(q), split(k), split(v)
        weights = torch.softmax(q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5, dim=-1)
        out = (weights @ v).permute(0, 2, 1, 3).reshape(b, t + 1, -1)
        x = x + out @ attn.to_out[0].weight.T + attn.to_out[0].bias
        h = F.layer_norm(x, (d,), ff.norm.weight, ff.norm.bias, ff.norm.eps)
        first, second = ff.net[0], ff.net[3]
        x = x + _tanh_gelu(h @ first.weight.T + first.bias) @ second.weight.T + second.bias
    return x[:, 0]


def _head(widths: dict[str, int], per_frame: set[str], seed: int, **config) -> LateConcatHead:
    torch.manual_seed(seed)
    streams = {s: StreamInfo(s, s in per_frame, w, 2, 5, 1) for s, w in widths.items()}
    head = LateConcatHead(LateConcatConfig(**config), streams, num_classes=4).eval()
    with torch.no_grad():  # LayerNorms start at (1, 0): randomise them too, so a swapped weight / bias shows
        for p in head.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return head


@settings(max_examples=12, deadline=None)
@given(
    widths=st.lists(st.sampled_from([8, 12, 16]), min_size=2, max_size=3),
    frames=st.integers(1, 6),
    depth=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_logits_equal_the_reference_computation(widths, frames, depth, seed):
    names = ["audio", "video", "flow"][: len(widths)]
    per_frame = set(names[1:])
    heads, dim_head = 2, 4
    head = _head(dict(zip(names, widths)), per_frame, seed, depth=depth, heads=heads, dim_head=dim_head, mlp_dim=10,
                 max_frames=6)  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    pooled = {
        s: torch.randn(3, frames, w, generator=g) if s in per_frame else torch.randn(3, w, generator=g)
        for s, w in zip(names, widths)
    }
    with torch.no_grad():
        got = head(pooled)
        parts = [_reference_tower(head.temporal[s], pooled[s], heads) if s in per_frame else pooled[s] for s in names]
        want = torch.cat(parts, dim=-1) @ head.classifier.weight.T + head.classifier.bias
    assert got.shape == (3, 4)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_without_the_transformer_a_per_frame_stream_is_its_frame_mean():
    head = _head({"audio": 8, "video": 12}, {"video"}, 0, use_transformer=False)
    pooled = {"audio": torch.randn(2, 8), "video": torch.randn(2, 5, 12)}
    with torch.no_grad():
        want = torch.cat([pooled["audio"], pooled["video"].mean(1)], -1) @ head.classifier.weight.T
        torch.testing.assert_close(head(pooled), want + head.classifier.bias)


def test_the_official_defaults_give_the_official_tower_size():
    """One 512-wide tower at 16 frames: the recorded count of Temporal_Transformer_Cls (cls 512 + pos 8,704 +
    attention 1,051,136 + MLP 1,052,160 = 2,112,512) less the second LayerNorm (``norm2``, 2 x 1,024) that each of its
    PreNorm wrappers owns and never uses."""
    head = LateConcatHead(LateConcatConfig(), {"video": StreamInfo("video", True, 512, 12, 197, 1)}, num_classes=7)
    assert sum(p.numel() for p in head.temporal["video"].parameters()) == 2_112_512 - 2 * 1_024


@pytest.mark.parametrize("frames", [7])
def test_more_frames_than_the_position_table_is_refused(frames):
    head = _head({"audio": 8, "video": 8}, {"video"}, 0, max_frames=6)
    with pytest.raises(ValueError, match="max_frames=6"):
        head({"audio": torch.randn(1, 8), "video": torch.randn(1, frames, 8)})
