"""Convert an official MMA-DFER checkpoint (``main.py``'s ``model.pth``) into an mmadapt model directory:
adapter files plus both backbones as safetensors, reloadable with ``mmadapt.convert.load_converted(DIR)``.
E.g. ``mmadapt convert-official model.pth --img-size 224 --num-classes 7 --out converted/``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HELP = "convert an official MMA-DFER checkpoint into an mmadapt model directory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="official checkpoint (.pth as main.py writes it, or .safetensors)")
    p.add_argument("--img-size", type=int, required=True, help="frame size the checkpoint was trained at (checked)")
    p.add_argument("--num-classes", type=int, required=True, help="its classifier's classes (checked; DFEW 7, MAFW 11)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--num-heads", type=int, default=None, help="backbone attention heads (default: width / 64)")
    p.add_argument("--temporal-heads", type=int, default=None, help="temporal-transformer heads (default: width / 64)")
    p.add_argument("--mel-bins", type=int, default=128, help="mel bins of the audio input")
    p.add_argument(
        "--overwrite",
        "--force",
        dest="overwrite",
        action="store_true",
        help="replace a converted model already in --out (--force: the older name)",
    )


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..methods.mma_dfer.convert import from_official, save_converted
    from ..methods.mma_dfer.convert.directory import MANIFEST
    from ._common import check_output_dir

    check_output_dir(args.out)
    if (args.out / MANIFEST).exists() and not args.overwrite:
        raise ConfigError(f"{args.out} already holds a converted model ({MANIFEST}); pass --overwrite to replace it")
    result = from_official(
        args.checkpoint,
        args.img_size,
        args.num_classes,
        num_heads=args.num_heads,
        temporal_heads=args.temporal_heads,
        mel_bins=args.mel_bins,
    )
    print(result.report.summary())
    start = time.perf_counter()
    written = save_converted(result.model, args.out, result.extras, source=str(args.checkpoint))
    elapsed = time.perf_counter() - start
    total = 0
    print(f"wrote {args.out} in {elapsed:.2f} s:")
    for name, path in written.items():
        size = path.stat().st_size
        total += size
        print(f"  {name:32s} {_size(size):>10s}")
    print(f"  {'total':32s} {_size(total):>10s}")
    trainable, everything = result.model.get_nb_trainable_parameters()
    print(
        f"model: {trainable:,d} trainable / {everything:,d} parameters; load it with "
        f"mmadapt.convert.load_converted({str(args.out)!r})"
    )
    return 0
