"""Totals of the red-team catalogue (issue 13): ``python -m tests.redteam.report [--slow] [--area A] [--write PATH]``.

Runs every case once and prints, per area and in total: cases tried, the passing outcomes (clear, ok, intact), the
failures (raw, silent, lost) and how many of the cases are pending (items in progress or known defects), then
the failing cases that are not pending. ``--write PATH`` also writes the table and every verdict as JSON (the test
run never writes anything).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch

from .case import FAILURES, OUTCOMES, Case, Verdict, classify
from .catalogue import all_cases

COLUMNS = ("tried", *OUTCOMES, *FAILURES, "pending")


def run(cases: Sequence[Case]) -> list[tuple[Case, Verdict]]:
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases:
            results.append((case, classify(case)))
    return results


def table(results: Sequence[tuple[Case, Verdict]]) -> dict[str, Counter]:
    rows: dict[str, Counter] = {}
    for case, verdict in results:
        for key in (case.area, "total"):
            row = rows.setdefault(key, Counter())
            row["tried"] += 1
            row[verdict.outcome] += 1
            row["pending"] += case.pending is not None
    rows["total"] = rows.pop("total", Counter())
    return rows


def render(rows: dict[str, Counter]) -> str:
    width = max(len(a) for a in rows)
    lines = [f"{'area':<{width}}  " + "  ".join(f"{c:>7}" for c in COLUMNS)]
    for area, row in rows.items():
        if area == "total":
            lines.append("-" * len(lines[0]))
        lines.append(f"{area:<{width}}  " + "  ".join(f"{row[c]:>7}" for c in COLUMNS))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.redteam.report", description=__doc__.split("\n")[0])
    parser.add_argument("--slow", action="store_true", help="also run the cases that start subprocesses")
    parser.add_argument("--area", action="append", default=None, help="only this area (repeatable)")
    parser.add_argument(
        "--write", type=Path, default=None, metavar="PATH", help="also write the totals and every verdict as JSON"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    logging.getLogger("mmadapt").setLevel(logging.ERROR)  # the cases provoke warnings on purpose; totals only
    cases = [c for c in all_cases() if (args.slow or not c.slow) and (not args.area or c.area in args.area)]
    start = time.perf_counter()
    results = run(cases)
    seconds = time.perf_counter() - start
    rows = table(results)
    print(render(rows))
    print(f"\n{len(results)} cases in {seconds:.1f} s")
    unexpected = [(c, v) for c, v in results if not v.passed(c) and c.pending is None]
    fixed = [(c, v) for c, v in results if v.passed(c) and c.pending is not None]
    for title, group in (("failing, not pending", unexpected), ("pending but passing (remove the mark)", fixed)):
        if group:
            print(f"\n{title}:")
            for case, verdict in group:
                print(f"  {case.id}: {verdict.outcome}: {verdict.detail[:200]}")
    if args.write:
        from mmadapt._io import write_json

        write_json(
            args.write,
            {
                "totals": {area: dict(row) for area, row in rows.items()},
                "seconds": round(seconds, 1),
                "cases": [
                    {
                        "id": c.id,
                        "item": c.item,
                        "expect": sorted(c.expect),
                        "outcome": v.outcome,
                        "pending": c.pending_reason,
                        "detail": v.detail[:500],
                    }
                    for c, v in results
                ],
            },
        )
        print(f"\nwrote {args.write}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
