"""Shared pieces of every export format: example inputs taken from the model, a positional wrapper, the sidecar.

Shape legend: n clips (dynamic), T frames (fixed), C channels, H x W the anatomy's input size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._io import atomic_path, write_json
from .._version import __version__
from ..errors import ConfigError
from ..registry import Registry

Exporter = Callable[[nn.Module, tuple[torch.Tensor, ...], list[str], Path], None]
"""(positional module, example inputs, input names, temporary file) -> writes the file."""

FORMATS: Registry[tuple[str, Exporter]] = Registry("export format", describe=lambda entry: entry[1].__qualname__)
"""Format name -> (file suffix, exporter); filled by the per-format modules (a plugin may add its own)."""


def register_format(name: str, suffix: str) -> Callable[[Exporter], Exporter]:
    """Decorator: register ``fn`` as the exporter writing ``name`` files ending in ``suffix``."""

    def deco(fn: Exporter) -> Exporter:
        FORMATS.register(name, (suffix, fn))
        return fn

    return deco


class Positional(nn.Module):
    """The model's keyword forward called with positional tensors in the streams' order (what tracers take)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.names = list(model.stream_names)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, xs, strict=True)))


def example_inputs(model: nn.Module, frames: int | None = None, batch: int = 2) -> dict[str, torch.Tensor]:
    """One random batch per stream, in the model's order: (n, T, C, H, W) per frame, (n, C, H, W) per clip; T from
    ``frames`` or the head's ``max_frames``, sizes from the attached anatomies."""
    if frames is None:
        frames = getattr(model.config.head, "max_frames", None)
    needs_frames = any(model.streams[s].per_frame for s in model.stream_names)
    if needs_frames and (frames is None or frames < 1):
        given = "" if frames is not None else " (the head has no max_frames: give --frames)"
        raise ConfigError(f"frames must be >= 1, got {frames}{given}")
    g = torch.Generator().manual_seed(0)
    out = {}
    for s in model.stream_names:
        anatomy = model._anatomy[s]
        shape = (anatomy.in_chans, *anatomy.input_size)
        if model.streams[s].per_frame:
            shape = (frames, *shape)
        out[s] = torch.randn(batch, *shape, generator=g)
    return out


def class_names_of(model: nn.Module) -> list[str] | None:
    names = getattr(model.config, "class_names", None)
    return list(names) if names else None


def export_model(
    model: nn.Module,
    fmt: str,
    out_dir: str | Path,
    frames: int | None = None,
    class_names: list[str] | None = None,
    stem: str = "model",
    preprocessing: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (eval, CPU, fixed frames and sizes, dynamic batch) as one ``fmt`` file in ``out_dir`` and a
    ``<file>.json`` sidecar naming inputs, output, classes and ``preprocessing`` (what the caller must compute from
    a clip, e.g. :func:`~.preprocessing.preprocessing_record` of the experiment's data; null when not given);
    returns the file's path."""
    from . import exported_program, onnx, torchscript  # noqa: F401  (register the formats)

    if fmt not in FORMATS:
        raise ConfigError(FORMATS.unknown_message(fmt))
    suffix, exporter = FORMATS.get(fmt)
    model = model.eval().to("cpu")
    inputs = example_inputs(model, frames)
    names = list(inputs)
    final = Path(out_dir) / f"{stem}{suffix}"
    with torch.no_grad():
        num_classes = int(model(**inputs).shape[-1])
    with warnings.catch_warnings(), atomic_path(final) as tmp:
        warnings.simplefilter("ignore")  # TracerWarnings from the input checks: harmless, the checks still run
        exporter(Positional(model), tuple(inputs.values()), names, tmp)
    sidecar = {
        "format": fmt,
        "file": final.name,
        "inputs": [{"name": s, "shape": ["batch", *inputs[s].shape[1:]], "dtype": "float32"} for s in names],
        "output": {"name": "logits", "shape": ["batch", num_classes]},
        "class_names": class_names if class_names is not None else class_names_of(model),
        "preprocessing": preprocessing,
        "mmadapt_version": __version__,
    }
    write_json(final.with_name(final.name + ".json"), sidecar)
    return final


__all__: list[str] = ["FORMATS", "Positional", "example_inputs", "export_model", "register_format"]
