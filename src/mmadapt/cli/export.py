"""``mmadapt export``: a trained adapter and its backbones as one ONNX / TorchScript / exported-program file.

The adapter is resolved to a model exactly as ``mmadapt predict`` does; torch is imported inside :func:`run` so that
``mmadapt --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_adapter_argument, add_set_argument, flag_overrides

HELP = "export a trained model (backbones + adapters, dynamic batch) as one ONNX, TorchScript or exported-program file"

FORMAT_NAMES = ("onnx", "torchscript", "exported-program")
"""The built-in formats, for the help text (kept here so that parsing needs no torch; a test checks they agree)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_adapter_argument(p)
    p.add_argument("--format", required=True, dest="fmt", metavar="FORMAT", help=f"one of {', '.join(FORMAT_NAMES)}")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the file and its sidecar")
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="frames per clip of per-frame streams (default: the experiment's data.num_frames, as predict feeds)",
    )
    p.add_argument("--config", type=Path, default=None, metavar="FILE", help="experiment config (default: saved one)")
    add_set_argument(p, "experiment override")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..errors import ConfigError
    from ..export import FORMATS, export_model
    from ..export.preprocessing import preprocessing_record
    from ._common import experiment_for_adapter, label_names, load_trained_model

    if args.fmt not in FORMATS:  # the registry, not FORMAT_NAMES: a plugin's format is exportable too
        raise ConfigError(f"--format: {FORMATS.unknown_message(args.fmt)}")
    if args.out.exists() and not args.out.is_dir():
        raise ConfigError(f"--out {args.out}: is a file, not a folder")
    adapter_dir, cfg = experiment_for_adapter(args.adapter, args.config, [*flag_overrides(args), *args.overrides])
    model = load_trained_model(adapter_dir, cfg, torch.device("cpu")).float()
    names = label_names(cfg, model.config.num_classes)
    frames = args.frames if args.frames is not None else cfg.data.num_frames
    data = cfg.data.replace(num_frames=frames)
    record = {s: v for s, v in preprocessing_record(data).items() if s in model.stream_names}
    path = export_model(model, args.fmt, args.out, frames=frames, class_names=names, preprocessing=record)
    print(path)
    return 0
