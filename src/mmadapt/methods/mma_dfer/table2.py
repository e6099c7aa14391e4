"""The paper's Table 2 (§4.4): intermediate temporal adaptors (ITA) after every fusion bottleneck, alone or with the
multimodal temporal transformer (MTM), registered as ``mma-dfer-ita-*`` and ``mma-dfer-mtm-ita-128``.

Table 2 prints the parameters of the *temporal processing blocks* only (ITA and MTM), not the trainable total, so
the presets record no ``paper_params_m``; :data:`TABLE2` keeps the printed figures and
:func:`temporal_block_parameters` counts ours (docs/kinds-temporal.md reconciles the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from ...adapters import MeanBottleneckITAConfig
from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import PresetFn, register_preset
from .presets import mma_dfer_config

__all__ = ["TABLE2", "Table2Row", "temporal_block_parameters"]


@dataclass(frozen=True)
class Table2Row:
    """One row of Table 2: the ITA width (``None``: no ITA), whether the MTM head is on, the printed millions."""

    description: str
    temporal_dim: int | None
    mtm: bool
    paper_temporal_params_m: float


TABLE2: dict[str, Table2Row] = {
    "mma-dfer-ita-64": Table2Row("ITA d=64 after every fusion block, no temporal transformer", 64, False, 1.3),
    "mma-dfer-ita-128": Table2Row("ITA d=128 after every fusion block, no temporal transformer", 128, False, 0.8),
    "mma-dfer-ita-256": Table2Row("ITA d=256 after every fusion block, no temporal transformer", 256, False, 4.3),
    "mma-dfer-mtm-ita-128": Table2Row(
        "ITA d=128 after every fusion block and the temporal transformer", 128, True, 2.9
    ),
    "mma-dfer": Table2Row("the temporal transformer only (MTM, the paper's model)", None, True, 2.2),
}
"""Table 2 by preset name; ``mma-dfer`` (the MTM row) is registered with the main preset."""


def _table2(row: Table2Row) -> PresetFn:
    def fn(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
        c = mma_dfer_config(anatomies)
        fusion = MeanBottleneckITAConfig(**c.fusion.to_dict(), temporal_dim=row.temporal_dim)
        return c.with_overrides(fusion=fusion, head=c.head.replace(use_transformer=row.mtm))

    fn.__doc__ = row.description
    return fn


def temporal_block_parameters(model: nn.Module) -> int:
    """Parameters of a model's temporal processing blocks, as Table 2 counts them: every fusion layer's temporal
    adaptors (own projections, attention, gate) and the head's temporal transformer."""
    blocks = [f.temporal for f in getattr(model, "fusion", ()) if hasattr(f, "temporal")]
    head_temporal = getattr(model.head, "temporal", None)
    if head_temporal is not None:
        blocks.append(head_temporal)
    return sum(p.numel() for block in blocks for p in block.parameters())


for _name, _row in TABLE2.items():
    if _row.temporal_dim is not None:
        register_preset(_name, _table2(_row), paper_ref="MMA-DFER §4.4, Table 2 (temporal-block parameters only)")
