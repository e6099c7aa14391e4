"""ONNX through the dynamo exporter, named inputs per stream and a dynamic batch; runs with onnxruntime alone."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .common import register_format
from .exported_program import dynamic_batch


@register_format("onnx", ".onnx")
def export_onnx(module: nn.Module, inputs: tuple[torch.Tensor, ...], names: list[str], path: Path) -> None:
    torch.onnx.export(
        module,
        inputs,
        str(path),
        input_names=names,
        output_names=["logits"],
        dynamic_shapes=(dynamic_batch(names),),
        dynamo=True,
        external_data=False,
        verbose=False,  # no "[torch.onnx] ..." progress lines on stdout: the CLI prints only the file's path
    )
