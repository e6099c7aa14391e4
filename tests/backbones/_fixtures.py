"""Tiny model sizes and pre-training checkpoint writers shared by the backbone tests."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from mmadapt.backbones import ViTBackboneConfig, build_vit

TINY = {"embed_dim": 32, "depth": 2, "num_heads": 2}
PATCH = 16


def pretraining_state_dict(img_size: tuple[int, int], in_chans: int, seed: int, decoder_width: int = 16) -> dict:
    """An MAE-style pre-training state dict: encoder keys of a tiny ViT plus decoder keys and a mask token."""
    torch.manual_seed(seed)
    encoder = build_vit(ViTBackboneConfig(img_size=img_size, in_chans=in_chans, **TINY))
    sd = {k: v.clone() for k, v in encoder.state_dict().items()}
    sd["pos_embed"] = torch.randn_like(sd["pos_embed"])  # distinct from any init
    grid_tokens = (img_size[0] // PATCH) * (img_size[1] // PATCH)
    width = TINY["embed_dim"]
    sd["mask_token"] = torch.randn(1, 1, width)
    sd["decoder_embed.weight"] = torch.randn(decoder_width, width)
    sd["decoder_embed.bias"] = torch.randn(decoder_width)
    sd["decoder_pos_embed"] = torch.randn(1, 1 + grid_tokens, decoder_width)
    sd["decoder_blocks.0.norm1.weight"] = torch.randn(decoder_width)
    sd["decoder_norm.weight"] = torch.randn(decoder_width)
    sd["decoder_pred.weight"] = torch.randn(PATCH * PATCH * in_chans, decoder_width)
    return sd


def save_pretraining(path: Path, sd: dict) -> Path:
    torch.save({"model": sd}, path)
    return path


def reference_resample(pos: torch.Tensor, old: tuple[int, int], new: tuple[int, int]) -> torch.Tensor:
    """Independent statement of the official resize: CLS kept, (1, H, W, D) grid -> NCHW -> bicubic."""
    cls_row, grid = pos[:, :1], pos[:, 1:]
    grid = grid.reshape(1, old[0], old[1], pos.shape[-1]).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new, mode="bicubic", align_corners=False)
    return torch.cat([cls_row, grid.permute(0, 2, 3, 1).reshape(1, new[0] * new[1], -1)], dim=1)
