"""timm ``VisionTransformer`` (ViT, DeiT incl. distilled, register tokens, ``class_token=False`` + avg pool)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..pos_embed import resample_grid_pos_embed
from .base import Anatomy, PosSlot, _pair


class TimmViTAnatomy(Anatomy):
    family = "timm-vit"
    # `embed` calls `_pos_embed` and `pool` calls `forward_head`; the two that chain the stages are bypassed
    bypassed_methods = ("forward", "forward_features")

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        self._blocks = list(model.blocks)  # by reference: PEFT keeps the same block objects
        super().__init__(model, root)
        self._saved_size: tuple[Any, Any, Any] | None = None

    @property
    def blocks(self) -> Sequence[nn.Module]:
        return self._blocks

    @property
    def width(self) -> int:
        return int(self.model.embed_dim)

    @property
    def num_prefix_tokens(self) -> int:
        return int(self.model.num_prefix_tokens)

    @property
    def num_heads(self) -> int | None:
        heads = getattr(getattr(self._blocks[0], "attn", None), "num_heads", None)  # timm Attention / EvaAttention
        return int(heads) if heads is not None else None

    @property
    def in_chans(self) -> int:
        return int(self.model.patch_embed.proj.in_channels)

    def _read_native_input_size(self) -> tuple[int, int]:
        return _pair(self.model.patch_embed.img_size)

    @property
    def patch_size(self) -> tuple[int, int]:
        return _pair(self.model.patch_embed.patch_size)

    @property
    def embed_output(self) -> nn.Module:
        # `_pos_embed` is a method; `patch_drop` (Identity unless patch dropout is on) is the first module
        # after it, so prompts appended to its output go through `norm_pre` like every other token.
        return self.model.patch_drop

    @property
    def token_output(self) -> nn.Module:
        return self.model.norm

    def pos_slots(self) -> dict[str, PosSlot]:
        if getattr(self.model, "pos_embed", None) is None:
            return {}
        prefix = 0 if getattr(self.model, "no_embed_class", False) else self.num_prefix_tokens
        return {"pos_embed": PosSlot(self.model, "pos_embed", slice(prefix, None))}

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        m = self.model
        x = m.patch_embed(x)
        x = m._pos_embed(x)
        x = m.patch_drop(x)
        x = m.norm_pre(x)
        return x, None

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        return self._blocks[i](x)

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.norm(x)

    def block_parts(self, i: int) -> dict[str, list[nn.Module]]:
        blk = self._blocks[i]  # timm Block / EvaBlock: `attn` and `mlp` (Mlp, SwiGLU, GluMlp alike)
        return {"attention": [blk.attn], "mlp": [blk.mlp]}

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_head(x, pre_logits=True)

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)

    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        pe = self.model.patch_embed
        if getattr(self.model, "dynamic_img_size", False):
            # the family resamples its table every forward; nothing to change
            return {}
        old_grid = _pair(pe.grid_size)
        new_grid = self.grid_size(input_size)
        self._saved_size = (pe.img_size, pe.grid_size, pe.num_patches)
        pe.img_size, pe.grid_size, pe.num_patches = input_size, new_grid, new_grid[0] * new_grid[1]
        tables = {}
        for name, slot in self.pos_slots().items():
            prefix = slot.grid_rows.start or 0
            tables[name] = resample_grid_pos_embed(slot.get().detach(), old_grid, new_grid, num_prefix_tokens=prefix)
        return tables

    def _unresize(self) -> None:
        if self._saved_size is not None:
            pe = self.model.patch_embed
            pe.img_size, pe.grid_size, pe.num_patches = self._saved_size
            self._saved_size = None
