"""Where the time of one train step goes: ``torch.profiler`` over ours and the floor, grouped by kernel family.

Runs a few eager train steps of the ``mma-dfer`` preset and of the floor (``baselines.BackboneFloor``) on the
same batch under the profiler and writes, per workload, the device time of each operator (self time, summed
over the profiled steps, divided by their number) and a coarse split into families: matrix products,
attention, normalisation, element-wise and casts, reductions, copies, optimiser. The difference between the two
columns is what the adapters cost, kernel by kernel; ``benchmarks/RESULTS.md`` shows the table.

Example: ``python benchmarks/profile_step.py --device cuda --dtype bf16 --size 160 --batch 32 --out p.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from benchmarks._args import add_run_options, check_run_options, finish  # noqa: E402
from benchmarks.baselines import BackboneFloor, cross_entropy, floor_loss  # noqa: E402
from benchmarks.envinfo import SCHEMA, collect_env  # noqa: E402
from benchmarks.report import precision  # noqa: E402
from benchmarks.specs import BACKBONE_DTYPES, SPECS, build_model, make_batch  # noqa: E402
from benchmarks.timing import with_threads  # noqa: E402

logger = logging.getLogger(__name__)

# (family, substrings of aten operator names), first match wins; order matters ("addmm" before "add").
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("matmul", ("mm", "matmul", "linear", "convolution", "conv2d")),
    ("attention", ("attention", "sdpa")),
    ("norm", ("layer_norm",)),
    ("optimizer", ("adam", "foreach")),
    ("reduction", ("sum", "mean", "amax")),
    ("elementwise", ("add", "mul", "gelu", "tanh", "div", "sub", "where", "softmax", "exp", "neg")),
)
COPIES = frozenset(
    {
        "copy_",
        "_to_copy",
        "to",
        "clone",
        "contiguous",
        "cat",
        "fill_",
        "zero_",
        "zeros_like",
        "empty",
        "empty_strided",
        "expand",
        "view",
        "reshape",
        "slice",
        "select",
        "transpose",
        "t",
    }
)
"""Operators that only move, cast or allocate (matched exactly: their names are short)."""


def family(op: str) -> str:
    name = op.removeprefix("aten::")
    if name in COPIES:
        return "copy_cast"
    for fam, keys in FAMILIES:
        if any(k in name for k in keys):
            return fam
    return "other"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(p)
    p.add_argument("--dtype", default="bf16", choices=["fp32", "bf16"])
    p.add_argument(
        "--backbone-dtype",
        default="fp32",
        choices=sorted(BACKBONE_DTYPES),
        help="frozen backbones' weight dtype (bf16: a bf16 residual stream; adapters stay fp32)",
    )
    p.add_argument("--backbone", default="vitb", choices=sorted(SPECS))
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--steps", type=int, default=3, help="profiled steps per workload (after 2 warm-up steps)")
    p.add_argument("--top", type=int, default=25, help="operators kept per workload in the JSON and the table")
    args = p.parse_args(argv)
    check_run_options(p, args)
    return args


def _profile(step, device: torch.device, steps: int) -> dict[str, float]:
    """Self device time (CPU time on a CPU run) per operator, milliseconds per step."""
    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    out: dict[str, float] = {}
    for evt in prof.key_averages():
        us = evt.self_device_time_total if device.type == "cuda" else evt.self_cpu_time_total
        if us > 0 and evt.key.startswith("aten::"):
            out[evt.key] = us / 1e3 / steps
    return out


def _by_family(ops: dict[str, float]) -> dict[str, float]:
    fams: dict[str, float] = defaultdict(float)
    for op, ms in ops.items():
        fams[family(op)] += ms
    return dict(sorted(fams.items(), key=lambda kv: -kv[1]))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    return with_threads(args.threads, lambda: _run(args))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    model = build_model(
        SPECS[args.backbone], args.size, args.frames, device=device, backbone_dtype=args.backbone_dtype
    ).train()
    floor = BackboneFloor(model).to(device).train()
    video, audio, labels = make_batch(model, args.batch, args.frames, device)
    amp = (
        (lambda: torch.autocast(device.type, dtype=torch.bfloat16))
        if args.dtype == "bf16"
        else (contextlib.nullcontext)
    )
    opt = torch.optim.AdamW(list(model.adapter_parameters()), lr=1e-4, fused=True)

    def ours() -> None:
        opt.zero_grad(set_to_none=True)
        with amp():
            loss = cross_entropy(model(video, audio), labels)
        loss.backward()
        opt.step()

    def floor_step() -> None:
        for p in floor.trainable():
            p.grad = None
        with amp():
            out = floor(video, audio)
        floor_loss(out).backward()

    ops = {"ours": _profile(ours, device, args.steps), "floor": _profile(floor_step, device, args.steps)}
    families = {name: _by_family(o) for name, o in ops.items()}
    every_op = set(ops["ours"]) | set(ops["floor"])
    delta = {op: ops["ours"].get(op, 0.0) - ops["floor"].get(op, 0.0) for op in every_op}
    top = sorted(delta, key=lambda op: -abs(delta[op]))[: args.top]
    result = {
        "schema": SCHEMA,
        "benchmark": "profile",
        "env": collect_env(device),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "clock": "self_device_time" if device.type == "cuda" else "self_cpu_time",
        "total_ms": {name: sum(o.values()) for name, o in ops.items()},
        "families_ms": families,
        "top_ops_by_difference": [
            {
                "op": op,
                "ours_ms": ops["ours"].get(op, 0.0),
                "floor_ms": ops["floor"].get(op, 0.0),
                "difference_ms": delta[op],
            }
            for op in top
        ],
    }
    return finish(result, args, format_table)


def format_table(result: dict[str, Any]) -> str:
    tot = result["total_ms"]
    lines = [
        f"{result['env']['device_name']} | {precision(result['args'])} | batch {result['args']['batch']} x "
        f"{result['args']['frames']} frames at {result['args']['size']} px | ms per train step "
        f"({result['clock']}): ours {tot['ours']:.1f}, floor {tot['floor']:.1f}",
        f"{'family':<14} {'ours':>9} {'floor':>9} {'diff':>9}",
    ]
    fams = result["families_ms"]
    for fam in sorted(set(fams["ours"]) | set(fams["floor"]), key=lambda f: -fams["ours"].get(f, 0.0)):
        o, f = fams["ours"].get(fam, 0.0), fams["floor"].get(fam, 0.0)
        lines.append(f"{fam:<14} {o:>9.2f} {f:>9.2f} {o - f:>+9.2f}")
    lines.append(f"{'operator':<40} {'ours':>9} {'floor':>9} {'diff':>9}")
    for row in result["top_ops_by_difference"]:
        lines.append(
            f"{row['op'][:40]:<40} {row['ours_ms']:>9.2f} {row['floor_ms']:>9.2f} {row['difference_ms']:>+9.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
