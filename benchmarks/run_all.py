"""Run the benchmarks that fit this machine and regenerate ``benchmarks/RESULTS.md`` (``make bench``).

On the CPU (the default, a few minutes on 2 shared cores): the ``mma-dfer`` preset on two ViT-B/16 at 112 px,
1 clip x 16 frames, fp32, train step and inference against the floor and the naive loop, on one thread (two
threads stall whenever another job holds a core); then ``benchmarks/bench_data.py``. ``--quick``
swaps ViT-B for two ViT-S/16. On CUDA it runs ``gpu_check.py`` into ``results/cuda_<date>/``.
Every run ends by rendering RESULTS.md from all JSON files under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import REPO_ROOT, RESULTS_DIR, ensure_mmadapt

ensure_mmadapt()

from benchmarks import bench_model, gpu_check  # noqa: E402
from benchmarks.report import write_results_md  # noqa: E402

logger = logging.getLogger(__name__)

DATA_BENCH = REPO_ROOT / "benchmarks" / "bench_data.py"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder of the JSON files")
    p.add_argument("--markdown", type=Path, default=REPO_ROOT / "benchmarks" / "RESULTS.md", help="file to render")
    p.add_argument("--quick", action="store_true", help="CPU: two ViT-S/16 instead of two ViT-B/16")
    p.add_argument("--smoke", action="store_true", help="CPU: the tiny pair at 32 px x 2 frames, 1 round (tests)")
    p.add_argument("--iters", type=int, default=4, help="CPU: timed rounds")
    p.add_argument("--threads", type=int, default=1, help="CPU: torch intra-op threads")
    p.add_argument("--skip-run", action="store_true", help="only regenerate RESULTS.md from the existing JSON files")
    p.add_argument("--no-data", action="store_true", help="skip benchmarks/bench_data.py")
    p.add_argument("--data-timeout-s", type=float, default=300.0, help="wall-clock limit of the data benchmark")
    return p.parse_args(argv)


def run_cpu(args: argparse.Namespace) -> None:
    backbone, size, frames, iters = "small" if args.quick else "vitb", 112, 16, args.iters
    if args.smoke:
        backbone, size, frames, iters = "tiny", 32, 2, 1
    bench_model.main(
        [
            "--device",
            "cpu",
            "--backbone",
            backbone,
            "--sizes",
            str(size),
            "--frames",
            str(frames),
            "--batch",
            "1",
            "--warmup",
            "1",
            "--iters",
            str(iters),
            "--threads",
            str(args.threads),
            "--mode",
            "both",
            "--quiet",
            "--out",
            str(args.results / f"cpu_{backbone}_{size}_fp32_b1.json"),
        ]
    )
    if not args.no_data:
        run_data(args)


def run_data(args: argparse.Namespace) -> None:
    """In its own process, under a time limit: a stuck decoder must not hang the whole run."""
    cmd = [sys.executable, str(DATA_BENCH), "--out", str(args.results / "cpu_data_pipeline.json")]
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, timeout=args.data_timeout_s, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        logger.warning("bench_data.py ran past %.0f s; its result is left out", args.data_timeout_s)
        return
    if proc.returncode != 0:
        logger.warning("bench_data.py failed (exit %d): %s", proc.returncode, proc.stderr[-1000:])


def main(argv: list[str] | None = None) -> Path:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.skip_run:
        if args.device == "cpu":
            run_cpu(args)
        else:
            stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d")
            gpu_check.main(["--device", "cuda", "--out", str(args.results / f"cuda_{stamp}")])
    path = write_results_md(args.results, args.markdown)
    logger.info("wrote %s", path)
    return path


if __name__ == "__main__":
    main()
