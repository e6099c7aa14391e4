"""Hugging Face ``ViTMAEModel`` used as a plain encoder: no masking, no shuffling.

The family masks ``config.mask_ratio`` of the patches and shuffles the rest in every forward, eval mode
included. ``mask_ratio = 0`` keeps every patch but still shuffles them by random noise, so the anatomy also
passes ``noise = arange(N)``, whose argsort is the identity order. The position table is a frozen sin-cos
grid: nothing to tune; other input sizes use the family's ``interpolate_pos_encoding``.

The embeddings return ``(tokens, mask, ids_restore)``: a prompt hook on ``embed_output`` edits element 0.

Legend: B batch, H/W input size, N tokens, D width.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import UnsupportedBackboneError
from ._hf import HFAnatomy, find_layers, first


class ViTMAEAnatomy(HFAnatomy):
    family = "hf-vit-mae"

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        ratio = float(model.config.mask_ratio)
        if ratio != 0.0:
            raise UnsupportedBackboneError(
                f"{type(model).__name__} drops config.mask_ratio={ratio} of the patches in every forward, eval "
                "mode included; build it with mask_ratio=0.0 (e.g. from_pretrained(..., mask_ratio=0.0)) to use "
                "it as an encoder"
            )
        self._blocks = find_layers(model)
        super().__init__(model, root)
        self._interpolate = False

    # ---- structure ------------------------------------------------------------------------------------
    @property
    def embed_output(self) -> nn.Module:
        return self.model.embeddings  # output: (tokens (B, N, D), mask, ids_restore)

    @property
    def token_output(self) -> nn.Module:
        return self.model.layernorm

    # ---- stages ---------------------------------------------------------------------------------------
    def _identity_noise(self, x: torch.Tensor) -> torch.Tensor:
        """Per-patch noise whose argsort keeps the patches in order."""
        gh, gw = self.grid_size((x.shape[-2], x.shape[-1]))
        return torch.arange(gh * gw, device=x.device, dtype=torch.float32).expand(x.shape[0], -1)  # (B, N - 1)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        out = self.model.embeddings(x, noise=self._identity_noise(x), interpolate_pos_encoding=self._interpolate)
        return out[0], None  # (B, N, D)

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        return first(self._blocks[i](x))

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.layernorm(x)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]  # the family has no pooler: CLS of the final-normed sequence

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=x, noise=self._identity_noise(x), interpolate_pos_encoding=self._interpolate)
        return out.last_hidden_state

    # ---- new input size -------------------------------------------------------------------------------
    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        self._interpolate = True  # frozen sin-cos grid: the family interpolates it every forward
        return {}

    def _unresize(self) -> None:
        self._interpolate = False
