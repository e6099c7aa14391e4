"""Export a wrapped model (backbones + adapters) as one self-contained file: ONNX, TorchScript or an exported
program, with fixed frames and input sizes and a dynamic batch, so inference needs no mmadapt."""

from __future__ import annotations

from . import exported_program, onnx, torchscript  # noqa: F401  (register the formats)
from .common import FORMATS, example_inputs, export_model
from .preprocessing import preprocessing_record

__all__ = ["FORMATS", "example_inputs", "export_model", "preprocessing_record"]
