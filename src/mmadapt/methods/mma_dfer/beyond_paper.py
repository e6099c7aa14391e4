"""Variants of MMA-DFER beyond the paper, registered as presets beside the paper's own (``list_presets("mma-dfer*")``).

``mma-dfer-fusion-mbt``: MMA-DFER with its mean bottleneck replaced by MBT's attention bottleneck (Nagrani et al.,
NeurIPS 2021, kind ``attention-bottleneck``), fused at the same layers; prompts and head unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...adapters import AttentionBottleneckConfig
from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import register_preset
from .presets import mma_dfer_config

__all__ = ["mma_dfer_fusion_mbt_config"]


def mma_dfer_fusion_mbt_config(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
    """MMA-DFER with MBT attention-bottleneck fusion (4 shared tokens) instead of the mean bottleneck."""
    return mma_dfer_config(anatomies).with_overrides(fusion=AttentionBottleneckConfig(num_tokens=4))


register_preset("mma-dfer-fusion-mbt", mma_dfer_fusion_mbt_config, paper_ref="Nagrani et al. 2021")
