"""TorchScript by tracing: loads with ``torch.jit.load`` alone; the batch stays dynamic because the model's
input checks trace as tensor operations."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .common import register_format


@register_format("torchscript", ".pt")
def export_torchscript(module: nn.Module, inputs: tuple[torch.Tensor, ...], names: list[str], path: Path) -> None:
    with torch.no_grad():
        traced = torch.jit.trace(module, inputs, check_trace=False)
    torch.jit.save(traced, str(path))
