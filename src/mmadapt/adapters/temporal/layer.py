"""Temporal head: joint adaptation, multimodal temporal transformer, classifier.

Legend: B clips, T frames, Da/Dv encoder widths, D head width (``dim``), H heads, Dh head width.
"""

from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InputShapeError
from .config import TemporalHeadConfig


class JointAdaptation(nn.Module):
    """Adds the clip's pooled audio token to every frame's pooled video token, then projects to ``dim``."""

    def __init__(self, audio_width: int, video_width: int, dim: int) -> None:
        super().__init__()
        # widths differ -> bring audio to the video width first; equal widths need no extra parameters
        self.audio_proj = nn.Linear(audio_width, video_width) if audio_width != video_width else nn.Identity()
        self.proj = nn.Linear(video_width, dim)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """video (B, T, Dv), audio (B, Da) -> (B, T, D)."""
        return self.proj(video + self.audio_proj(audio).unsqueeze(1))


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


class TemporalTransformer(nn.Module):
    """CLS + temporal positions, ``depth`` pre-norm layers, no final norm; returns the CLS output (B, D)."""

    def __init__(self, config: TemporalHeadConfig) -> None:
        super().__init__()
        c = config
        self.max_frames = c.max_frames
        self.cls_token = nn.Parameter(torch.randn(1, 1, c.dim) * c.token_init_std)
        self.pos_embedding = nn.Parameter(torch.randn(1, c.max_frames + 1, c.dim) * c.token_init_std)
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    Attention(c.dim, c.heads, c.dim_head, c.dropout, c.norm_eps),
                    FeedForward(c.dim, c.mlp_dim, c.dropout, c.norm_eps),
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


class TemporalHead(nn.Module):
    """Pooled encoder outputs -> clip embedding -> logits."""

    def __init__(self, config: TemporalHeadConfig, audio_width: int, video_width: int, num_classes: int) -> None:
        super().__init__()
        self.config = config
        self.joint = JointAdaptation(audio_width, video_width, config.dim)
        self.temporal = TemporalTransformer(config) if config.use_transformer else None
        self.classifier = nn.Linear(config.dim, num_classes)

    def forward_features(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """video (B, T, Dv) pooled per frame, audio (B, Da) -> clip embedding (B, D)."""
        t = video.shape[1]
        if t > self.config.max_frames:
            raise InputShapeError(
                f"the temporal head covers at most max_frames={self.config.max_frames} frames, got T={t}"
            )
        z = self.joint(video, audio)  # (B, T, D)
        return self.temporal(z) if self.temporal is not None else z.mean(dim=1)

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(video, audio))


