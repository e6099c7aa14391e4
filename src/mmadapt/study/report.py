"""A study's results as ``study.json`` (every number), ``study.md`` (the tables) and ``study.png`` (the plot).

Metrics are fractions in [0, 1], as the recipe reports them. ``paired`` holds ``preset - reference`` seed by seed
(:func:`mmadapt.study.stats.paired_difference`); ``per_class_recall`` the mean and std over seeds of each class's
recall (a class absent from the validation split has no recall and is left out of its mean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._io import atomic_write, write_json, write_text
from .config import StudyConfig
from .grid import Cell
from .stats import mean_std, paired_difference

__all__ = ["METRICS", "summarize", "write_report"]

METRICS = ("uar", "war")
"""The study's headline metrics, per cell (the final epoch's validation numbers, the official protocol)."""


def summarize(study: StudyConfig, records: Mapping[Cell, Mapping[str, Any]]) -> dict[str, Any]:
    """The study's numbers from its finished cells' records."""
    by_preset: dict[str, dict[int, Mapping[str, Any]]] = {p: {} for p in study.presets}
    for cell, record in records.items():
        by_preset[cell.preset][cell.seed] = record
    metrics: dict[str, Any] = {}
    recall: dict[str, Any] = {}
    for preset, cells in by_preset.items():
        seeds = sorted(cells)
        row: dict[str, Any] = {"seeds": seeds}
        for metric in METRICS:
            values = [float(cells[s][metric]) for s in seeds]
            mean, std = mean_std(values)
            row[metric] = {"values": values, "mean": mean, "std": std}
        metrics[preset] = row
        classes = list(next(iter(cells.values()))["per_class_recall"]) if cells else []
        recall[preset] = {}
        for name in classes:
            values = [float(cells[s]["per_class_recall"][name]) for s in seeds]
            mean, std = mean_std([v for v in values if not math.isnan(v)])
            recall[preset][name] = {"mean": mean, "std": std}
    reference = study.reference_preset
    paired: dict[str, Any] = {}
    for preset in study.presets:
        if preset == reference or not by_preset[preset] or not by_preset[reference]:
            continue
        paired[preset] = {
            metric: paired_difference(
                {s: float(r[metric]) for s, r in by_preset[preset].items()},
                {s: float(r[metric]) for s, r in by_preset[reference].items()},
            ).to_dict()
            for metric in METRICS
        }
    digests = sorted({str(r.get("backbones")) for r in records.values()})
    return {
        "presets": list(study.presets),
        "reference": reference,
        "seeds": list(study.seeds),
        "cells": len(records),
        "metrics": metrics,
        "paired": paired,
        "per_class_recall": recall,
        "backbones": next(iter(records.values())).get("backbones") if len(digests) == 1 else digests,
        "config": study.to_dict(),
    }


def write_report(out_dir: str | Path, summary: Mapping[str, Any]) -> dict[str, Path]:
    """Write the three files atomically; returns their paths by kind."""
    out = Path(out_dir)
    return {
        "json": write_json(out / "study.json", summary),
        "md": write_text(out / "study.md", markdown(summary)),
        "png": atomic_write(out / "study.png", lambda handle: _plot(summary, handle)),
    }


def _pm(stats: Mapping[str, float]) -> str:
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"


def _diff(d: Mapping[str, Any]) -> str:
    ci = "" if d["n"] < 2 else f" [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
    return f"{d['mean']:+.3f}{ci}"


def table_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """The main table, one row per preset: name, seeds, UAR and WAR mean ± std, the paired differences to the
    reference with their 95 % intervals, the UAR wins/losses/ties and the sign test's p."""
    rows = []
    for preset in summary["presets"]:
        m = summary["metrics"][preset]
        d = summary["paired"].get(preset)
        if d is None:
            tail = ["reference", "", "", ""]
        else:
            u = d["uar"]
            tail = [_diff(u), f"{u['wins']}/{u['losses']}/{u['ties']}", f"{u['sign_p']:.3g}", _diff(d["war"])]
        rows.append([preset, str(len(m["seeds"])), _pm(m["uar"]), _pm(m["war"]), *tail])
    return rows


TABLE_HEADER = ("preset", "seeds", "UAR", "WAR", "ΔUAR [95 % CI]", "UAR W/L/T", "sign p", "ΔWAR [95 % CI]")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def markdown(summary: Mapping[str, Any]) -> str:
    ref, seeds = summary["reference"], summary["seeds"]
    lines = [
        "# Study",
        "",
        f"{len(summary['presets'])} presets x {len(seeds)} seeds ({', '.join(map(str, seeds))}) on the same frozen "
        f"backbones; final-epoch validation metrics (fractions); differences are preset - `{ref}`, seed by seed.",
        "",
        *_md_table(TABLE_HEADER, table_rows(summary)),
        "",
        "## Per-class recall (mean ± std over seeds)",
        "",
    ]
    classes = list(next(iter(summary["per_class_recall"].values()), {}))
    rows = [[p, *(_pm(summary["per_class_recall"][p][c]) for c in classes)] for p in summary["presets"]]
    lines += [*_md_table(("preset", *classes), rows), ""]
    lines += [
        "UAR/WAR: mean ± sample std over seeds. Δ: mean paired difference with its 95 % t-interval (n - 1 degrees "
        "of freedom). W/L/T: seeds where the preset is above / below / equal to the reference; sign p: two-sided "
        "exact sign test on the wins and losses (ties left out). See docs/study.md.",
        "",
    ]
    return "\n".join(lines)


def _plot(summary: Mapping[str, Any], handle: Any) -> None:
    # The Agg canvas is attached to this figure only: no pyplot, no change to the global backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    presets = summary["presets"]
    fig = Figure(figsize=(4.0 + 1.2 * len(presets), 4.0))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for i, preset in enumerate(presets):
        m = summary["metrics"][preset]["uar"]
        left.scatter([i] * len(m["values"]), m["values"], s=12, alpha=0.6)
        left.errorbar([i], [m["mean"]], yerr=[m["std"]], fmt="_k", markersize=14, capsize=4)
    left.set_xticks(range(len(presets)), presets, rotation=30, ha="right")
    left.set_ylabel("validation UAR")
    left.set_title("UAR per seed (mean ± std)")
    others = [p for p in presets if p in summary["paired"]]
    for i, preset in enumerate(others):
        d = summary["paired"][preset]["uar"]
        low, high = d["ci_low"], d["ci_high"]
        yerr = [[d["mean"] - low], [high - d["mean"]]] if d["n"] > 1 else None
        right.errorbar([i], [d["mean"]], yerr=yerr, fmt="o", capsize=4)
    right.axhline(0.0, color="grey", linewidth=0.8)
    right.set_xticks(range(len(others)), others, rotation=30, ha="right")
    right.set_ylabel(f"ΔUAR vs {summary['reference']}")
    right.set_title("paired difference (95 % CI)")
    fig.tight_layout()
    fig.savefig(handle, format="png", dpi=100)
