"""Building blocks of the temporal heads: a small pre-norm transformer over frames with a CLS token.

Legend: B clips, T frames, D width (``dim``), H heads, Dh head width.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Attention", "FeedForward", "TanhGELU", "TemporalTransformer"]


class TanhGELU(nn.Module):
    """GELU in its tanh approximation (the official temporal transformer's own formula)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate="tanh")


class Attention(nn.Module):
    """Pre-norm multi-head self-attention; q and kv projections without bias, as the official layer."""

    def __init__(self, dim: int, heads: int, dim_head: int, dropout: float, eps: float) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head**-0.5
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N, D)."""
        b, n, _ = x.shape
        h = self.norm(x)
        q = self.to_q(h)
        k, v = self.to_kv(h).chunk(2, dim=-1)
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in (q, k, v))  # (B, H, N, Dh)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, scale=self.scale)
        out = out.transpose(1, 2).reshape(b, n, -1)  # (B, N, H·Dh)
        return self.to_out(out)


class FeedForward(nn.Module):
    """Pre-norm MLP with tanh-GELU."""

    def __init__(self, dim: int, mlp_dim: int, dropout: float, eps: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.net = nn.Sequential(
            nn.Linear(dim, mlp_dim), TanhGELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(x))


class TransformerConfig(Protocol):
    """The fields :class:`TemporalTransformer` reads (a head config carries them; the width comes separately)."""

    depth: int
    heads: int
    dim_head: int
    mlp_dim: int
    max_frames: int
    dropout: float
    norm_eps: float
    token_init_std: float


class TemporalTransformer(nn.Module):
    """CLS + temporal positions, ``depth`` pre-norm layers, no final norm; returns the CLS output (B, D)."""

    def __init__(self, config: TransformerConfig, dim: int) -> None:
        """``dim``: the width D of the frames it reads (the head's joint width, or one stream's own)."""
        super().__init__()
        c = config
        self.max_frames = c.max_frames
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * c.token_init_std)
        self.pos_embedding = nn.Parameter(torch.randn(1, c.max_frames + 1, dim) * c.token_init_std)
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    Attention(dim, c.heads, c.dim_head, c.dropout, c.norm_eps),
                    FeedForward(dim, c.mlp_dim, c.dropout, c.norm_eps),
                ]
            )
            for _ in range(c.depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, D)."""
        b, t, _ = x.shape
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], dim=1)  # (B, 1 + T, D)
        x = x + self.pos_embedding[:, : t + 1]
        for attn, ff in self.layers:
            x = x + attn(x)
            x = x + ff(x)
        return x[:, 0]
