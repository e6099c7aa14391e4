"""The CLAIP-Emo preset (Chen et al., IEEE SPL 2026; code: github.com/MSA-LMC/CLAIP-Emo), registered as ``claip-emo``.

The numbers are the official code's (``models/baseline.py``): LoRA of rank 8, alpha 32, dropout 0.1 on every
projection of attention and MLP (``q_proj k_proj v_proj out_proj fc1 fc2`` of its CLIP towers; here whatever the
anatomy names as a block's attention and MLP), a ``Temporal_Transformer_Cls`` over 16 frames in the video tower's
width (depth 1, 8 heads of 64, MLP 1024), the audio tower's pooled embedding as is, concatenation and one Linear.
Nothing else is tuned: no prompts, no fusion, the positional tables frozen. 7 classes (DFEW).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...adapters import BackboneLoraConfig, LateConcatConfig
from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import register_preset

__all__ = ["claip_emo_config"]


def claip_emo_config(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
    """CLAIP-Emo (IEEE SPL 2026): PEFT LoRA in each frozen tower, temporal transformer per video, late concatenation."""
    return MultimodalConfig(
        num_classes=7,
        prompts=None,
        fusion=None,
        head=LateConcatConfig(depth=1, heads=8, dim_head=64, mlp_dim=1024, max_frames=16),
        backbone_lora=BackboneLoraConfig(rank=8, alpha=32, dropout=0.1, targets="attention+mlp"),
        tune_pos_embed=False,
    )


register_preset("claip-emo", claip_emo_config, paper_ref="CLAIP-Emo, IEEE SPL 2026")
