"""What the model benchmarks share on the command line (device, batch, threads, output) and how each one ends."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.envinfo import write_json


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"], help="where to run"
    )
    p.add_argument("--batch", type=int, default=None, help="clips per step (default: 32 on CUDA, 1 on the CPU)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (CPU); 1 avoids stalls when other jobs share the cores",
    )
    p.add_argument("--out", type=Path, default=None, help="JSON file to write (e.g. benchmarks/results/x.json)")
    p.add_argument("--quiet", action="store_true", help="no table on stdout")


def check_run_options(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse CUDA where there is none; fill in the device's default batch."""
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available")
    if args.batch is None:
        args.batch = 32 if args.device == "cuda" else 1


def require_counts(
    p: argparse.ArgumentParser, args: argparse.Namespace, positive: tuple[str, ...], nonnegative: tuple[str, ...] = ()
) -> None:
    """Refuse ``--name`` values below 1 (``positive``) or below 0 (``nonnegative``) with one parser error."""
    for name, low in [*((n, 1) for n in positive), *((n, 0) for n in nonnegative)]:
        if getattr(args, name) < low:
            p.error(f"--{name} must be >= {low}, got {getattr(args, name)}")


def finish(result: dict[str, Any], args: argparse.Namespace, table: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Write ``result`` to ``--out`` and print its table unless ``--quiet``."""
    if args.out is not None:
        write_json(args.out, result)
    if not args.quiet:
        print(table(result))
    return result
