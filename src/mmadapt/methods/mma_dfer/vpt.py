"""``mma-dfer-vpt-deep``: MMA-DFER with VPT-deep prompts (Jia et al. 2022) in place of its progressive prompts.

The same M = 6 tokens per stream, but fresh ones at every block's input instead of one set updated twice; a
comparison the paper does not run, for asking whether progressive prompting beats the established deep variant.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...adapters import VPTDeepConfig
from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import register_preset
from .presets import mma_dfer_config

__all__ = ["mma_dfer_vpt_deep_config"]


def mma_dfer_vpt_deep_config(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
    """MMA-DFER with VPT-deep prompts (fresh prompts replace the previous ones at every block)."""
    c = mma_dfer_config(anatomies)
    return c.with_overrides(prompts=VPTDeepConfig(num_prompts=c.prompts.num_prompts))


register_preset("mma-dfer-vpt-deep", mma_dfer_vpt_deep_config, paper_ref="Jia et al. 2022, VPT-deep")
