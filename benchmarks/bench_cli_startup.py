"""CLI start-up: wall time of ``python -m mmadapt.cli ...`` calls that do no work (``--help``, ``info``).

Each call is a fresh interpreter, so the time is the imports plus argument parsing. ``--tree LABEL=SRC`` compares
source trees (e.g. a checkout of main against this branch) with the runs interleaved call by call, so that noise
from other jobs on a shared machine hits every tree alike; the ratios are taken within one such run. Prints the
median of each call per tree and writes a JSON record naming the machine with ``--out``.

    .venv/bin/python benchmarks/bench_cli_startup.py --repeats 5 \\
        --tree before=/path/to/main/src --tree after=src --out benchmarks/results/cpu_cli_startup.json
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import REPO_ROOT, ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402

from benchmarks.envinfo import collect_env, write_json  # noqa: E402

CALLS: dict[str, list[str]] = {
    "import mmadapt.cli": ["-c", "import mmadapt.cli"],
    "mmadapt --help": ["-m", "mmadapt.cli", "--help"],
    "mmadapt train --help": ["-m", "mmadapt.cli", "train", "--help"],
    "mmadapt predict --help": ["-m", "mmadapt.cli", "predict", "--help"],
    "mmadapt info": ["-m", "mmadapt.cli", "info"],
}
"""Call name -> interpreter arguments; ``info`` builds the default preset's backbones on the meta device."""


def _tree(text: str) -> tuple[str, Path]:
    label, sep, src = text.partition("=")
    if not sep or not label or not src:
        raise argparse.ArgumentTypeError(f"--tree {text!r}: expected LABEL=SRC_FOLDER")
    path = Path(src).resolve()
    if not (path / "mmadapt" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"--tree {text!r}: {path} holds no mmadapt package")
    return label, path


def time_call(src: Path, args: list[str]) -> float:
    """Seconds for one fresh interpreter running ``args`` with ``src`` first on the path (it must exit 0)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} with {src}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return seconds


def measure(trees: dict[str, Path], calls: dict[str, list[str]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """tree -> call -> seconds of each repeat; the trees alternate within every (repeat, call)."""
    times: dict[str, dict[str, list[float]]] = {label: {call: [] for call in calls} for label in trees}
    for _ in range(repeats):
        for call, args in calls.items():
            for label, src in trees.items():
                times[label][call].append(time_call(src, args))
    return times


def table(result: dict[str, object]) -> str:
    medians: dict[str, dict[str, float]] = result["median_s"]  # type: ignore[assignment]
    labels = list(medians)
    header = f"{'call':26s}" + "".join(f"{label:>12s}" for label in labels)
    if len(labels) > 1:
        header += f"{labels[0] + '/' + labels[-1]:>16s}"
    lines = [header]
    for call in next(iter(medians.values())):
        row = f"{call:26s}" + "".join(f"{medians[label][call]:>11.2f}s" for label in labels)
        if len(labels) > 1:
            row += f"{medians[labels[0]][call] / medians[labels[-1]][call]:>15.1f}x"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="calls of each command per tree (median reported)")
    parser.add_argument(
        "--tree",
        type=_tree,
        action="append",
        default=None,
        metavar="LABEL=SRC",
        help="a source folder to time (repeatable); default: this checkout's src",
    )
    parser.add_argument("--only", nargs="+", choices=list(CALLS), default=None, help="time only these calls")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write (e.g. benchmarks/results/x.json)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: must be at least 1")
    trees = dict(args.tree or [("this", REPO_ROOT / "src")])
    calls = {name: CALLS[name] for name in (args.only or CALLS)}
    times = measure(trees, calls, args.repeats)
    result: dict[str, object] = {
        "benchmark": "cli_startup",
        "env": collect_env(torch.device("cpu")),
        "repeats": args.repeats,
        "trees": {label: str(src) for label, src in trees.items()},
        "median_s": {
            label: {c: round(statistics.median(s), 3) for c, s in per.items()} for label, per in times.items()
        },
        "times_s": {label: {c: [round(x, 3) for x in s] for c, s in per.items()} for label, per in times.items()},
    }
    if args.out is not None:
        write_json(args.out, result)
    print(table(result))
    return result


if __name__ == "__main__":
    main()
