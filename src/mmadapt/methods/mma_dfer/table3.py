"""The paper's Table 3 (§4.5, "comparison of fusion approaches"): ``mma-dfer`` with its fusion bottleneck swapped for
another fusion kind, registered as ``mma-dfer-fusion-*``.

Each preset is the full ``mma-dfer`` recipe (prompts with progressive updates, temporal transformer, fusion at every
block) with only ``fusion`` replaced. MULT uses 2 heads of total width 128 "to match the Fusion Bottleneck
dimensionality"; MULT-concat's single layer gets the same width. Table 3 prints no parameter counts.
``mma-dfer-fusion-none`` is the same recipe as the Table-4 row ``mma-dfer-no-fusion`` (Table 3 and 4 report the
same 59.27 / 70.56 for it).
"""

from __future__ import annotations

from collections.abc import Mapping

from ...adapters import AdapterConfig, AddFusionConfig, MultConcatFusionConfig, MultFusionConfig
from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import PresetFn, register_preset
from .presets import mma_dfer_config

__all__ = ["TABLE3"]


def _with_fusion(description: str, fusion: AdapterConfig | None) -> PresetFn:
    def fn(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
        return mma_dfer_config(anatomies).with_overrides(fusion=fusion.replace() if fusion is not None else None)

    fn.__doc__ = description
    return fn


TABLE3: dict[str, tuple[str, AdapterConfig | None]] = {
    "mma-dfer-fusion-add": ("fusion by gated addition in the original space (ADD)", AddFusionConfig()),
    "mma-dfer-fusion-mult": (
        "fusion by MulT cross-modal attention, 2 heads, width 128 (MULT)",
        MultFusionConfig(dim=128, heads=2),
    ),
    "mma-dfer-fusion-mult-concat": (
        "fusion by one transformer layer over the concatenated streams, width 128 (MULT-concat)",
        MultConcatFusionConfig(dim=128, heads=2),
    ),
    "mma-dfer-fusion-none": ("no modality fusion (None)", None),
}
"""Table 3 of the paper: preset name -> (description, fusion config)."""

for _name, (_desc, _fusion) in TABLE3.items():
    register_preset(_name, _with_fusion(_desc, _fusion), paper_ref="MMA-DFER Table 3")
