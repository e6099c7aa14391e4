"""Fusion bottleneck: each modality's tokens receive the other modality's mean in a low-dimensional space.

Legend: n clips, T frames per clip, Na audio tokens, Nv video tokens per frame, Da/Dv widths, d latent width.

Per fused block pair (paper §3.2; official semantics §2 b–d):
    v_lo = LN(down_v(v))                  (n·T, Nv, d)
    a_lo = LN(down_a(a))                  (n, Na, d)
    v_in = v_lo + mean_tokens(a_lo)       the clip's audio mean, broadcast to each of its T frames
    a_in = a_lo + mean_frames(mean_tokens(v_lo))
    v    = v + tanh(gate_v) * GELU(up_v(v_in))
    a    = a + tanh(gate_a) * GELU(up_a(a_in))
Means run over every token (prefix, patches and prompts), as the official code does. The block works in its own
weights' dtype (fp32 master weights on a bf16 stream: see :mod:`mmadapt._dtype`) and writes back in the stream's.
"""

from __future__ import annotations

import torch
from torch import nn

from ..._dtype import to_weight_dtype
from .config import FusionConfig
from .gate import gated_residual


class _Down(nn.Sequential):
    """Linear to the latent width, then LayerNorm."""

    def __init__(self, width: int, latent: int, eps: float) -> None:
        super().__init__(nn.Linear(width, latent), nn.LayerNorm(latent, eps=eps))


class _Up(nn.Sequential):
    """Linear back to the encoder width, then exact (erf) GELU."""

    def __init__(self, latent: int, width: int) -> None:
        super().__init__(nn.Linear(latent, width), nn.GELU())


class FusionBottleneck(nn.Module):
    """One audio/video exchange; widths may differ between the two encoders."""

    def __init__(self, config: FusionConfig, audio_width: int, video_width: int) -> None:
        super().__init__()
        d = config.latent_dim
        self.audio_down = _Down(audio_width, d, config.norm_eps)
        self.video_down = _Down(video_width, d, config.norm_eps)
        self.audio_up = _Up(d, audio_width)
        self.video_up = _Up(d, video_width)
        self.audio_gate = nn.Parameter(torch.full((1,), float(config.gate_init)))
        self.video_gate = nn.Parameter(torch.full((1,), float(config.gate_init)))

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio (n, Na, Da), video (n·T, Nv, Dv) frame-major per clip -> the same shapes."""
        n = audio.shape[0]
        t = video.shape[0] // n
        w = self.audio_gate.dtype
        v_lo = self.video_down(to_weight_dtype(video, w))  # (n·T, Nv, d)
        a_lo = self.audio_down(to_weight_dtype(audio, w))  # (n, Na, d)
        a_mean = a_lo.mean(dim=1, keepdim=True)  # (n, 1, d)
        v_clip = v_lo.view(n, t, *v_lo.shape[1:])  # (n, T, Nv, d)
        v_in = (v_clip + a_mean.unsqueeze(1)).view_as(v_lo)  # broadcast over frames, no repeat_interleave
        v_mean = v_clip.mean(dim=1).mean(dim=1, keepdim=True)  # (n, 1, d): frames first, then tokens
        a_in = a_lo + v_mean
        video = gated_residual(video, self.video_up(v_in), self.video_gate)
        audio = gated_residual(audio, self.audio_up(a_in), self.audio_gate)
        return audio, video
