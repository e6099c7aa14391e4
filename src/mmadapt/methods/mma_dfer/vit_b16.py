"""The ViT-B/16 architecture both MMA-DFER backbones (AudioMAE, MAE-Face) are pre-trained with."""

from __future__ import annotations

__all__ = ["VIT_B16"]

VIT_B16 = {"patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12}
""":class:`~mmadapt.backbones.vit_config.ViTBackboneConfig` fields of ViT-B/16 (the published checkpoints)."""
