"""Multi-head scaled dot-product attention over already projected queries, keys and values (the MulT kinds).

Legend: b batch (clips), Q query tokens, K key tokens, d width (split into h heads of d/h).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ...errors import ConfigError

__all__ = ["attend", "check_heads"]


def check_heads(kind: str, dim: int, heads: int) -> None:
    """One-line refusal of an attention width that the heads cannot split."""
    if dim < 1 or heads < 1 or dim % heads:
        raise ConfigError(f"{kind}: dim must be a positive multiple of heads, got dim={dim}, heads={heads}")


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """softmax(q kᵀ / sqrt(d/h)) v per head: q (b, Q, d), k and v (b, K, d) -> (b, Q, d)."""
    b, n_q, d = q.shape

    def split(t: torch.Tensor) -> torch.Tensor:
        return t.view(b, t.shape[1], heads, d // heads).transpose(1, 2)  # (b, h, tokens, d/h)

    out = F.scaled_dot_product_attention(split(q), split(k), split(v))  # (b, h, Q, d/h)
    return out.transpose(1, 2).reshape(b, n_q, d)
