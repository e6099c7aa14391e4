"""The fusion's gated residual alone: ``adapters/fusion/gate.py`` against autograd on the plain expression.

Times forward + backward of ``x + tanh(gate) * h`` on one fused block's video tokens of the ViT-B/16 setting
(``n·T`` frames x tokens x width, derived from ``--batch/--frames/--size``), with ``x`` in fp32 and ``h`` in
``--dtype`` (bf16 = what the up-projection yields under bf16 autocast), interleaved rounds, median.

Example: ``python benchmarks/bench_gate.py --device cuda --dtype bf16 --batch 32 --out g.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402

from benchmarks._args import add_run_options, check_run_options, finish  # noqa: E402
from benchmarks.envinfo import SCHEMA, collect_env  # noqa: E402
from benchmarks.specs import SPECS  # noqa: E402
from benchmarks.timing import StepTimer, measure, with_threads  # noqa: E402
from mmadapt.adapters.fusion.gate import gated_residual  # noqa: E402


def plain(x: torch.Tensor, h: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    return x + torch.tanh(gate) * h


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(p)
    p.add_argument("--dtype", default="bf16", choices=["fp32", "bf16"], help="dtype of h (x stays fp32)")
    p.add_argument("--backbone", default="vitb", choices=sorted(SPECS))
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--prompts", type=int, default=6, help="prompt tokens appended to each frame")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--iters", type=int, default=50)
    args = p.parse_args(argv)
    check_run_options(p, args)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    return with_threads(args.threads, lambda: _run(args))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    width = SPECS[args.backbone].embed_dim
    tokens = 1 + (args.size // args.patch) ** 2 + args.prompts
    shape = (args.batch * args.frames, tokens, width)
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(shape, generator=g, device=device, requires_grad=True)
    h = torch.randn(shape, generator=g, device=device).to(torch.bfloat16 if args.dtype == "bf16" else torch.float32)
    h.requires_grad_()
    gate = torch.full((1,), 0.3, device=device, requires_grad=True)
    weight = torch.randn(shape, generator=g, device=device)

    def step(fn) -> None:
        for t in (x, h, gate):
            t.grad = None
        fn(x, h, gate).backward(weight)

    meas = measure(
        {"plain": lambda: step(plain), "gate": lambda: step(gated_residual)}, 3, args.iters, StepTimer(device)
    )
    clock = {n: m.cpu_times_ms or m.times_ms for n, m in meas.items()}
    result = {
        "schema": SCHEMA,
        "benchmark": "gate",
        "env": collect_env(device),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "shape": list(shape),
        "clock": "process_cpu" if meas["plain"].cpu_times_ms else "wall",
        "median_ms": {n: statistics.median(t) for n, t in clock.items()},
    }
    result["speedup"] = result["median_ms"]["plain"] / result["median_ms"]["gate"]
    return finish(result, args, format_line)


def format_line(result: dict[str, Any]) -> str:
    ms, a = result["median_ms"], result["args"]
    return (
        f"{result['env']['device_name']} | x fp32, h {a['dtype']} {tuple(result['shape'])} | forward+backward "
        f"[{result['clock']}]: plain {ms['plain']:.3f} ms, gate.py {ms['gate']:.3f} ms, x{result['speedup']:.2f}"
    )


if __name__ == "__main__":
    main()
