"""``torch.export`` program with a symbolic batch dimension; loads with ``torch.export.load`` alone."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .common import register_format

MAX_BATCH = 1024
"""Upper bound of the symbolic batch (torch.export wants one; large enough for any inference batch)."""


def dynamic_batch(names: list[str]) -> tuple[dict[int, object], ...]:
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    return tuple({0: batch} for _ in names)


@register_format("exported-program", ".pt2")
def export_program(module: nn.Module, inputs: tuple[torch.Tensor, ...], names: list[str], path: Path) -> None:
    ep = torch.export.export(module, inputs, dynamic_shapes=(dynamic_batch(names),))
    torch.export.save(ep, str(path))
