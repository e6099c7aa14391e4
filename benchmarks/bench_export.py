"""onnxruntime (CPU) against eager PyTorch at batch 1: the ``mma-dfer`` model exported once, then both alternated.

The model is the ``mma-dfer`` preset on a random-weight pair (``specs.py``; ViT-B/16 at 112 px x 16 frames by
default, the preset's spectrogram), with every path made to matter (``specs.randomise``) so that the parity check
sees prompts, fusion and head. Steps:

1. export with ``mmadapt.export.export_model(model, "onnx", ...)`` (timed: wall and process CPU seconds);
2. parity: max |eager - onnxruntime| of the logits on the same batch-1 input, and the logits' scale beside it;
3. timing: eager (``eval``, ``no_grad``) and an ``InferenceSession`` on ``CPUExecutionProvider`` with as many
   intra-op threads as torch has, one forward each per round, the order rotating (``timing.measure``);
   reported: median latencies and ``ratio_ort_over_eager`` = median over rounds of t_ort / t_eager (< 1:
   onnxruntime faster), with its min..max over rounds.

Clock: process CPU time with one thread (it leaves out waits for a core held by another job); with more threads the
wall clock, because onnxruntime's pool threads spin while they wait for work, which counts as CPU time.

Example: ``python benchmarks/bench_export.py --rounds 10 --threads 1 --out benchmarks/results/cpu_export.json``;
``--tiny`` is a seconds-long smoke run on the tiny pair.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402

from benchmarks._args import finish, require_counts  # noqa: E402
from benchmarks.envinfo import SCHEMA, collect_env  # noqa: E402
from benchmarks.specs import SPECS, build_model, make_batch, randomise  # noqa: E402
from benchmarks.timing import Measurement, StepTimer, measure, with_threads  # noqa: E402
from mmadapt.export import export_model  # noqa: E402

FULL = {"backbone": "vitb", "size": 112, "frames": 16, "rounds": 10, "warmup": 2}
"""The issue's setting: the ViT-B pair at 112 px x 16 frames."""
TINY = {"backbone": "tiny", "size": 32, "frames": 2, "rounds": 2, "warmup": 1}
"""``--tiny``: a smoke run of a few seconds."""
WORKLOADS = ("eager", "onnxruntime")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help=f"smoke run: {TINY} unless given")
    p.add_argument(
        "--backbone", choices=sorted(SPECS), default=None, help=f"pair of specs.py (default {FULL['backbone']})"
    )
    p.add_argument("--size", type=int, default=None, help=f"video frame side in px (default {FULL['size']})")
    p.add_argument("--frames", type=int, default=None, help=f"frames per clip (default {FULL['frames']})")
    p.add_argument(
        "--rounds", type=int, default=None, help=f"timed rounds, one step of each (default {FULL['rounds']})"
    )
    p.add_argument("--warmup", type=int, default=None, help=f"untimed steps of each (default {FULL['warmup']})")
    p.add_argument("--threads", type=int, default=1, help="torch threads = onnxruntime intra-op threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text kept in the record (e.g. 'shared machine, 2 cores')")
    p.add_argument("--keep", type=Path, default=None, help="export into this folder and keep it (default: a temp dir)")
    p.add_argument(
        "--out", type=Path, default=None, help="JSON file to write (e.g. benchmarks/results/cpu_export.json)"
    )
    p.add_argument("--quiet", action="store_true", help="no summary on stdout")
    args = p.parse_args(argv)
    for key, value in (TINY if args.tiny else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    require_counts(p, args, positive=("size", "frames", "rounds", "threads"), nonnegative=("warmup",))
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        p.error("onnxruntime is not installed: pip install onnxruntime")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    return with_threads(args.threads, lambda: _run(args))


def _session(path: Path, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1  # the graph is one chain: parallelism lives inside the operators
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _export(model: torch.nn.Module, folder: Path, frames: int) -> tuple[Path, dict[str, float]]:
    c0, t0 = time.process_time(), time.perf_counter()
    path = export_model(model, "onnx", folder, frames=frames)
    seconds = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    return path, seconds


def _run(args: argparse.Namespace) -> dict[str, Any]:
    load_start = os.getloadavg()[0]  # with the end value in the record: how busy the (shared) machine was
    device = torch.device("cpu")
    threads = torch.get_num_threads()
    model = build_model(SPECS[args.backbone], args.size, args.frames, seed=args.seed).eval()
    randomise(model, seed=args.seed + 1)  # prompts, fusion and head move the logits: parity sees them
    video, audio, _ = make_batch(model, 1, args.frames, device, seed=args.seed)
    inputs = {"video": video, "audio": audio}
    with tempfile.TemporaryDirectory(prefix="bench_export_") as tmp:
        folder = args.keep if args.keep is not None else Path(tmp)
        path, export_seconds = _export(model, folder, args.frames)
        file_mb = path.stat().st_size / 2**20
        session = _session(path, threads)
    feeds = {i.name: inputs[i.name].numpy() for i in session.get_inputs()}

    with torch.no_grad():
        want = model(**inputs)
    got = torch.from_numpy(session.run(None, feeds)[0])

    def eager() -> None:
        with torch.no_grad():
            model(**inputs)

    def onnxruntime() -> None:
        session.run(None, feeds)

    meas = measure({"eager": eager, "onnxruntime": onnxruntime}, args.warmup, args.rounds, StepTimer(device))
    clock = "process_cpu" if threads == 1 else "wall"
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "benchmark": "export",
        "env": {**collect_env(device), **_onnx_versions()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "load_average_1m": {"start": load_start, "end": os.getloadavg()[0]},
        "batch": 1,
        "inputs": {k: list(v.shape) for k, v in inputs.items()},
        "export": {**export_seconds, "file_mb": file_mb, "format": "onnx", "provider": "CPUExecutionProvider"},
        "parity": {
            "logits_max_abs_diff": float((got - want).abs().max()),
            "logits_max_abs": float(want.abs().max()),
            "shape": list(got.shape),
        },
        "session_threads": {"intra_op": threads, "inter_op": 1},
        "graph_optimization": str(session.get_session_options().graph_optimization_level),
        "clock": clock,
        "workloads": {name: _row(m) for name, m in meas.items()},
    }
    result.update(_ratio(meas["onnxruntime"], meas["eager"], clock))
    return finish(result, args, format_summary)


def _times(m: Measurement, clock: str) -> list[float]:
    return m.cpu_times_ms if clock == "process_cpu" else m.times_ms


def _ratio(a: Measurement, b: Measurement, clock: str) -> dict[str, Any]:
    """Per-round a / b on ``clock``: the two steps of one round ran back to back, so slow drift cancels."""
    per_round = [x / y for x, y in zip(_times(a, clock), _times(b, clock), strict=True)]
    median = statistics.median(per_round)
    return {
        "ratio_ort_over_eager": median,
        "ratio_ort_over_eager_min_max": [min(per_round), max(per_round)],
        "ratio_ort_over_eager_spread": (max(per_round) - min(per_round)) / median,
        "ratio_ort_over_eager_rounds": per_round,
    }


def _row(m: Measurement) -> dict[str, Any]:
    return {
        "ms_median": m.median_ms,
        "spread": m.spread,
        "cpu_ms_median": m.cpu_median_ms,
        "peak_mem_mb": m.peak_mem_mb,
        "times_ms": m.times_ms,
        "cpu_times_ms": m.cpu_times_ms,
    }


def _onnx_versions() -> dict[str, str | None]:
    out = {}
    for dist in ("onnxruntime", "onnx", "onnxscript"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def format_summary(result: dict[str, Any]) -> str:
    a, w, e, p = result["args"], result["workloads"], result["export"], result["parity"]
    lo, hi = result["ratio_ort_over_eager_min_max"]
    key = "cpu_ms_median" if result["clock"] == "process_cpu" else "ms_median"
    return "\n".join(
        [
            f"{result['env']['device_name']} | {a['backbone']} pair {a['size']} px x {a['frames']} frames, batch 1, "
            f"{a['threads']} thread(s) | torch {result['env']['torch']}, onnxruntime {result['env']['onnxruntime']}",
            f"export {e['wall_s']:.1f} s wall ({e['file_mb']:.0f} MiB); parity max |diff| "
            f"{p['logits_max_abs_diff']:.2e} (logits up to {p['logits_max_abs']:.2f})",
            f"[{result['clock']}] eager {w['eager'][key]:.1f} ms, onnxruntime {w['onnxruntime'][key]:.1f} ms; "
            f"ort/eager {result['ratio_ort_over_eager']:.3f} (rounds {lo:.3f} .. {hi:.3f}, {a['rounds']} rounds)",
        ]
    )


if __name__ == "__main__":
    main()
