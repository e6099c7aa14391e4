"""timm ``Eva`` (EVA-02 and relatives): absolute positions plus rotary embeddings (RoPE) over the patch grid.

``_pos_embed`` returns ``(tokens, rope)`` and every block is called ``blk(x, rope=rope)``. The rope table holds
``[sin | cos]`` concatenated on its last axis, one row per non-prefix token (``(depth, ...)`` stacked in the
"mixed" variant). Prompt tokens appended to the sequence need rows of their own: a row with sin = 0, cos = 1
is the identity rotation, so prompts attend without a position. ``embed`` pads the table it hands to the
runner; ``prompt_fixups`` pads the one the model's own forward passes to each block.

Legend: B batch, N tokens, X prefix tokens, P prompt tokens, R rope rows (N - X), E rope width (2 x head dim).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..errors import InputShapeError
from .base import PromptFixup
from .timm_vit import TimmViTAnatomy


def pad_rope_identity(rope: torch.Tensor | None, rows: int) -> torch.Tensor | None:
    """Extend a ``[sin | cos]`` rope table (..., R, E) to ``rows`` rows with identity rotations."""
    if rope is None or rope.shape[-2] == rows:
        return rope
    extra = rows - rope.shape[-2]
    if extra < 0:
        raise InputShapeError(f"rope table has {rope.shape[-2]} rows, more than the {rows} tokens it rotates")
    half = rope.shape[-1] // 2
    shape = (*rope.shape[:-2], extra, half)
    sin = rope.new_zeros(shape)
    cos = rope.new_ones(shape)
    return torch.cat([rope, torch.cat([sin, cos], dim=-1)], dim=-2)  # (..., R + P, E)


class TimmEvaAnatomy(TimmViTAnatomy):
    family = "timm-eva"

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        super().__init__(model, root)
        self._saved_rope_shape: Any = None

    @property
    def _mixed(self) -> bool:
        return bool(getattr(self.model, "rope_mixed", False))

    @property
    def embed_output(self) -> nn.Module:
        # `pos_drop` ends `_pos_embed` before `norm_pre`; with patch dropout on, `patch_drop` returns a tuple and
        # would drop prompts too, so prompts join after it, at `norm_pre`.
        if getattr(self.model, "patch_drop", None) is None:
            return self.model.pos_drop
        return self.model.norm_pre

    def block_parts(self, i: int) -> dict[str, list[nn.Module]]:
        parts = super().block_parts(i)
        attn = parts["attention"][0]
        fused_bias = getattr(attn, "q_bias", None) is not None and not getattr(attn, "qkv_bias_separate", False)
        if getattr(attn, "qkv", None) is not None and fused_bias:
            # the fused qkv with q/v biases runs as F.linear(x, qkv.weight, bias): its forward, and so any wrapper of
            # it (LoRA), is never called; only the layers the family does call are offered
            parts["attention"] = [m for n, m in attn.named_children() if n != "qkv"]
        return parts

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        m = self.model
        x = m.patch_embed(x)
        x, rope = m._pos_embed(x)
        x = m.norm_pre(x)  # (B, N, D), prompts included when a prompt hook is attached
        return x, pad_rope_identity(rope, x.shape[1] - self.num_prefix_tokens)

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        rope = ctx[i] if (ctx is not None and self._mixed) else ctx
        return self._blocks[i](x, rope=rope)

    def extend_context(self, ctx: Any, num_tokens: int) -> Any:
        # appended tokens get identity rotations, as prompts do (the stacked "mixed" table pads on the same axis)
        return ctx if ctx is None else pad_rope_identity(ctx, ctx.shape[-2] + num_tokens)

    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        tables = super()._resize(input_size)
        rope = getattr(self.model, "rope", None)
        if self._saved_size is not None and rope is not None and getattr(rope, "feat_shape", None) is not None:
            self._saved_rope_shape = rope.feat_shape
            rope.update_feat_shape(self.model.patch_embed.grid_size)
        return tables

    def _unresize(self) -> None:
        if self._saved_rope_shape is not None:
            self.model.rope.update_feat_shape(self._saved_rope_shape)
            self._saved_rope_shape = None
        super()._unresize()

    def prompt_fixups(self, num_prompts: int, enabled: Callable[[], bool]) -> list[RemovableHandle]:
        if num_prompts <= 0 or getattr(self.model, "rope", None) is None:
            return []
        pad = _RopePad(self.num_prefix_tokens, num_prompts, enabled)
        return [blk.register_forward_pre_hook(pad, with_kwargs=True) for blk in self._blocks]


class _RopePad(PromptFixup):
    """Forward pre-hook on each block: gives the prompts identity rows in the rope table the model's forward passes."""

    def __init__(self, prefix: int, num_prompts: int, enabled: Callable[[], bool]) -> None:
        super().__init__(num_prompts, enabled)
        self.prefix = prefix

    def __call__(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        rope = kwargs.get("rope")
        if rope is None or not self.enabled():
            return None
        x = args[0] if args else kwargs["x"]
        rows = x.shape[1] - self.prefix
        if rope.shape[-2] == rows:
            return None  # already padded (the runner's own call)
        if rope.shape[-2] + self.num_prompts != rows:
            raise InputShapeError(
                f"rope table has {rope.shape[-2]} rows but the block sees {rows} non-prefix tokens and "
                f"{self.num_prompts} prompts were attached"
            )
        return args, {**kwargs, "rope": pad_rope_identity(rope, rows)}
