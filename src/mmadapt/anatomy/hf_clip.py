"""Hugging Face ``CLIPVisionModel``: embeddings -> ``pre_layrnorm`` -> encoder layers; pooled = post-norm CLS.

``last_hidden_state`` is not normed (``post_layernorm`` acts on the pooled CLS only), so the final norm of the
sequence is the identity. transformers 4.x nests everything under ``vision_model`` and its layers take two
mask arguments and return a tuple; both are read once here.

Legend: B batch, H/W input size, N tokens, D width.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import UnsupportedBackboneError
from ..pos_embed import resample_grid_pos_embed
from ._hf import AttrPatch, HFAnatomy, first, param_names
from .base import PosSlot

_MASK_ARGS = ("attention_mask", "causal_attention_mask")


class CLIPVisionAnatomy(HFAnatomy):
    family = "hf-clip-vision"

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        self._core = getattr(model, "vision_model", model)  # 4.x: CLIPVisionModel.vision_model
        self._blocks = list(self._core.encoder.layers)
        # mask arguments some versions require positionally: passed as None, like the family's vision forward
        names = param_names(self._blocks[0].forward)
        self._mask_kwargs = {n: None for n in names if n in _MASK_ARGS}
        super().__init__(model, root)
        self._patch = AttrPatch()

    # ---- structure ------------------------------------------------------------------------------------
    @property
    def in_chans(self) -> int:
        return int(self._core.embeddings.patch_embedding.in_channels)

    @property
    def embed_output(self) -> nn.Module:
        # prompts are appended before `pre_layrnorm`, so they are normed like every other token
        return self._core.embeddings

    @property
    def token_output(self) -> nn.Module:
        # the last layer's output is `last_hidden_state` (a 1-tuple holding it in 4.x)
        return self._blocks[-1]

    def pos_slots(self) -> dict[str, PosSlot]:
        # an nn.Embedding: the table is its (N, D) weight, not a (1, N, D) parameter
        return {"position_embedding": PosSlot(self._core.embeddings.position_embedding, "weight", slice(1, None))}

    # ---- stages ---------------------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        x = self._core.embeddings(x)  # (B, N, D)
        return self._core.pre_layrnorm(x), None

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        return first(self._blocks[i](x, **self._mask_kwargs))

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return self._core.post_layernorm(x[:, 0])  # = pooler_output

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).last_hidden_state

    # ---- new input size -------------------------------------------------------------------------------
    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Resample the table once and set what the embeddings check (an int side: square sizes only)."""
        if input_size[0] != input_size[1]:
            raise UnsupportedBackboneError(
                f"{type(self.model).__name__} checks a single image side; it runs only at square sizes, "
                f"got {input_size}"
            )
        emb = self._core.embeddings
        gh, gw = self.grid_size(input_size)
        num_positions = self.num_prefix_tokens + gh * gw
        self._patch.set(emb, "image_size", int(input_size[0]))
        self._patch.set(emb, "num_patches", gh * gw)
        self._patch.set(emb, "num_positions", num_positions)
        ids = torch.arange(num_positions, device=emb.position_ids.device).expand((1, -1))
        self._patch.set(emb, "position_ids", ids)
        table = emb.position_embedding.weight.detach()  # (N, D)
        new = resample_grid_pos_embed(
            table[None], self.grid_size(self.native_input_size), (gh, gw), num_prefix_tokens=self.num_prefix_tokens
        )[0]
        return {"position_embedding": new}

    def _unresize(self) -> None:
        self._patch.restore()
