"""Hugging Face plain ViTs: ``ViTModel``, ``ASTModel`` (spectrograms) and ``Dinov2Model``.

All three run ``embeddings`` -> encoder layers -> ``layernorm``; they differ in prefix tokens, input layout,
pooling and how they handle a new input size.

Legend: B batch, C channels, H/W input size, T spectrogram frames, M mel bins, N tokens, D width.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import UnsupportedBackboneError
from ..pos_embed import resample_grid_pos_embed
from ._hf import AttrPatch, HFAnatomy, find_layers, first
from .base import PosSlot


class HFViTAnatomy(HFAnatomy):
    """``transformers.ViTModel``: one CLS token; pooled = CLS of the final-normed sequence.

    ``pooler_output`` (tanh(dense(CLS))) is a head trained for next-sentence-like objectives, not a feature, so
    it is not used. A new input size resamples ``position_embeddings`` once (the caller swaps the table in) and
    sets the sizes the embedding layers check, so the family's forward runs without ``interpolate_pos_encoding``.
    """

    family = "hf-vit"

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        self._blocks = find_layers(model)
        super().__init__(model, root)
        self._patch = AttrPatch()

    # ---- structure ------------------------------------------------------------------------------------
    @property
    def embed_output(self) -> nn.Module:
        return self.model.embeddings

    @property
    def token_output(self) -> nn.Module:
        return self.model.layernorm

    def pos_slots(self) -> dict[str, PosSlot]:
        emb = self.model.embeddings
        if getattr(emb, "position_embeddings", None) is None:
            return {}
        return {"position_embeddings": PosSlot(emb, "position_embeddings", slice(self.num_prefix_tokens, None))}

    # ---- stages ---------------------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.model.embeddings(x), None  # (B, N, D)

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        return first(self._blocks[i](x))

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.layernorm(x)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0]

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).last_hidden_state

    # ---- new input size -------------------------------------------------------------------------------
    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        emb = self.model.embeddings
        pe = emb.patch_embeddings
        new_grid = self.grid_size(input_size)
        # 5.x checks the size in the embeddings, 4.x in the patch embeddings: set whichever exist
        for owner in (emb, pe):
            if hasattr(owner, "image_size"):
                self._patch.set(owner, "image_size", tuple(input_size))
        if hasattr(pe, "num_patches"):
            self._patch.set(pe, "num_patches", new_grid[0] * new_grid[1])
        tables = {}
        for name, slot in self.pos_slots().items():
            tables[name] = resample_grid_pos_embed(
                slot.get().detach(),
                self.grid_size(self.native_input_size),
                new_grid,
                num_prefix_tokens=slot.grid_rows.start or 0,
            )
        return tables

    def _unresize(self) -> None:
        self._patch.restore()


class ASTAnatomy(HFViTAnatomy):
    """``transformers.ASTModel``: a spectrogram ViT with CLS + distillation tokens and overlapping patches.

    The anatomy takes ``(B, 1, T, M)`` like every other backbone and hands the family its own ``(B, T, M)``.
    The position table is fixed by ``max_length`` x ``num_mel_bins``, so the input size cannot change.
    Tokens are laid out frequency-major: the grid is (frequency patches, time patches).
    """

    family = "hf-ast"
    resizable = False

    @property
    def num_prefix_tokens(self) -> int:
        return 2

    @property
    def in_chans(self) -> int:
        return 1

    def _read_native_input_size(self) -> tuple[int, int]:
        cfg = self.model.config
        return (int(cfg.max_length), int(cfg.num_mel_bins))

    def grid_size(self, input_size: tuple[int, int] | None = None) -> tuple[int, int]:
        cfg = self.model.config
        frames, mels = input_size or self.input_size
        freq = (mels - cfg.patch_size) // cfg.frequency_stride + 1
        time = (frames - cfg.patch_size) // cfg.time_stride + 1
        return (freq, time)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.model.embeddings(x[:, 0]), None  # (B, 1, T, M) -> (B, T, M) -> (B, N, D)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] + x[:, 1]) / 2  # the family's pooler: mean of CLS and distillation token

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(input_values=x[:, 0]).last_hidden_state

    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        raise UnsupportedBackboneError(
            f"{type(self.model).__name__} runs only at (max_length, num_mel_bins) = {self.native_input_size}"
        )


class Dinov2Anatomy(HFViTAnatomy):
    """``transformers.Dinov2Model``: interpolates its position table to every input size by itself.

    Pooled = CLS of the final-normed sequence (what ``Dinov2Model`` returns as ``pooler_output``). A new input
    size needs no table: the native one stays tunable and is interpolated in every forward.
    """

    family = "hf-dinov2"

    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        return {}
