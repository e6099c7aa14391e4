"""A/B speed of two mmadapt checkouts: the eager train step of the ``mma-dfer`` preset, alternated in one run.

Two versions of a package cannot share a process, so each checkout gets a long-lived worker process
(``_ab_worker.py``) that builds the model once from its own ``src/`` and ``benchmarks/specs.py`` and then waits;
the driver hands the workers one round each in turn (order ABBA, so a slow drift of the shared machine hits both
alike) and compares per-round process CPU times. The ratio reported is the median over rounds of B / A: 1.00 = same
speed, < 1 = B faster. Only one worker computes at a time.

Example (the new core against the last release)::

    git worktree add /tmp/release v0.1.0
    python benchmarks/bench_ab.py --a /tmp/release --b . --backbone vitb --size 112 --rounds 12 \\
        --out benchmarks/results/cpu_ab_core_v2.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.envinfo import collect_env

WORKER = Path(__file__).with_name("_ab_worker.py")


class Worker:
    """One checkout's worker: a subprocess speaking one JSON line per request."""

    def __init__(self, tree: Path, args: argparse.Namespace) -> None:
        self.tree = tree
        cmd = [
            sys.executable,
            str(WORKER),
            "--tree",
            str(tree),
            "--backbone",
            args.backbone,
            "--size",
            str(args.size),
            "--frames",
            str(args.frames),
            "--batch",
            str(args.batch),
            "--threads",
            str(args.threads),
            "--seed",
            str(args.seed),
        ]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker for {self.tree} exited (code {self.proc.wait()})")
        return json.loads(line)

    def run(self, steps: int) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps({"steps": steps}) + "\n")
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", type=Path, required=True, help="checkout A (the baseline), a folder holding src/mmadapt")
    p.add_argument("--b", type=Path, required=True, help="checkout B (the candidate)")
    p.add_argument("--backbone", default="vitb", help="pair of benchmarks/specs.py (vitb, small, tiny)")
    p.add_argument("--size", type=int, default=112, help="video frame size in px")
    p.add_argument("--frames", type=int, default=16, help="frames per clip")
    p.add_argument("--batch", type=int, default=1, help="clips per step")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per worker")
    p.add_argument("--rounds", type=int, default=8, help="timed rounds (each: one block of steps per worker)")
    p.add_argument("--steps", type=int, default=1, help="train steps per worker per round")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="JSON file to write")
    args = p.parse_args(argv)
    for tree in (args.a, args.b):
        if not (tree / "src" / "mmadapt" / "__init__.py").is_file():
            p.error(f"{tree} holds no src/mmadapt/__init__.py")

    workers = {"a": Worker(args.a.resolve(), args), "b": Worker(args.b.resolve(), args)}
    try:
        if workers["a"].info["trainable"] != workers["b"].info["trainable"]:
            raise SystemExit(f"the checkouts build different models: {workers['a'].info} vs {workers['b'].info}")
        for w in workers.values():
            w.run(args.warmup)
        times: dict[str, list[float]] = {"a": [], "b": []}
        for r in range(args.rounds):
            order = ("a", "b") if r % 2 == 0 else ("b", "a")  # ABBA ...
            for name in order:
                times[name].append(workers[name].run(args.steps)["cpu_ms"] / args.steps)
    finally:
        for w in workers.values():
            w.close()

    ratios = [b / a for a, b in zip(times["a"], times["b"])]
    result = {
        "benchmark": "bench_ab",
        "env": collect_env(torch.device("cpu")),
        "workload": {k: getattr(args, k) for k in ("backbone", "size", "frames", "batch", "threads", "steps")},
        "a": {
            "tree": str(args.a),
            **workers["a"].info,
            "cpu_ms_median": statistics.median(times["a"]),
            "cpu_ms": times["a"],
        },
        "b": {
            "tree": str(args.b),
            **workers["b"].info,
            "cpu_ms_median": statistics.median(times["b"]),
            "cpu_ms": times["b"],
        },
        "ratio_b_over_a_median": statistics.median(ratios),
        "ratio_b_over_a_min_max": [min(ratios), max(ratios)],
    }
    print(
        f"train step, {args.backbone} {args.size}px, {args.batch}x{args.frames} frames, {args.threads} thread(s), "
        f"{args.rounds} rounds ABBA"
    )
    for k in ("a", "b"):
        print(
            f"  {k}: {result[k]['tree']:<40} {result[k]['version']:<10} median {result[k]['cpu_ms_median']:9.1f} ms "
            f"CPU per step"
        )
    print(f"  B/A: median {result['ratio_b_over_a_median']:.4f} (rounds {min(ratios):.4f} .. {max(ratios):.4f})")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(args.out)
    return result


if __name__ == "__main__":
    main()
