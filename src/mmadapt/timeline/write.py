"""Writing a :class:`~.predict.Timeline`: ``timeline.csv``, ``timeline.json`` and ``timeline.png``, each atomically.

Columns of the CSV (one row per window, in time order): ``start``, ``end`` (seconds from the first frame),
``face_found`` (true/false, empty when faces were not looked for), ``face_frames`` and ``frames`` (sampled frames
with a detection of their own / all sampled frames), ``audio_present`` (true/false), ``top_class`` (empty when the
window was not predicted), then ``p_<class name>`` per class (empty when not predicted). The JSON holds the same
rows (``probabilities`` as ``{class: p}`` or null) plus the video, its duration, the class names, the settings
and the notes. The PNG stacks the class probabilities over time (each window around
its centre, the first and last reaching their window's start and end), shades windows without a face in grey and
marks the top class of each window in a strip above the plot.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .._io import atomic_path, write_json, write_text
from .predict import Timeline, TimelineRow

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CSV_COLUMNS", "write_timeline", "write_timeline_csv", "write_timeline_json", "write_timeline_png"]

CSV_COLUMNS = ("start", "end", "face_found", "face_frames", "frames", "audio_present", "top_class")
"""The fixed leading columns of ``timeline.csv``; one ``p_<class name>`` column per class follows."""


def _flag(value: bool | None) -> str:
    return "" if value is None else str(bool(value)).lower()


def _top_name(row: TimelineRow, names: list[str]) -> str | None:
    return None if row.top is None else names[row.top]


def write_timeline_csv(timeline: Timeline, path: str | os.PathLike[str]) -> Path:
    names = timeline.class_names
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow([*CSV_COLUMNS, *(f"p_{n}" for n in names)])
    for r in timeline.rows:
        probs = [f"{p:.6f}" for p in r.probabilities] if r.predicted else [""] * len(names)
        fixed = [f"{r.start:.3f}", f"{r.end:.3f}", _flag(r.face_found), r.face_frames, r.frames]
        out.writerow([*fixed, _flag(r.audio_present), _top_name(r, names) or "", *probs])
    return write_text(path, buffer.getvalue())


def write_timeline_json(timeline: Timeline, path: str | os.PathLike[str]) -> Path:
    names = timeline.class_names
    rows = [
        {
            "start": r.start,
            "end": r.end,
            "face_found": r.face_found,
            "face_frames": r.face_frames,
            "frames": r.frames,
            "audio_present": r.audio_present,
            "top_class": _top_name(r, names),
            "probabilities": dict(zip(names, map(float, r.probabilities), strict=True)) if r.predicted else None,
        }
        for r in timeline.rows
    ]
    doc = {
        "video": str(timeline.video),
        "duration": timeline.duration,
        "class_names": names,
        "has_audio": timeline.has_audio,
        "sample_rate": timeline.sample_rate,
        "config": timeline.config.to_dict(),
        "notes": timeline.notes,
        "windows": rows,
    }
    return write_json(path, doc)


def stack_points(rows: list[TimelineRow], probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(x, (C, P))`` for a mid-stepped stack plot: each window holds its value around its centre, and the
    first and last windows reach back to their start and on to their end, so a short video is not drawn from its
    first centre only (its ends would look like missing data)."""
    import numpy as np

    if not rows:
        return np.zeros(0), probs
    centres = [0.5 * (r.start + r.end) for r in rows]
    xs = np.array([rows[0].start, *centres, rows[-1].end])
    return xs, np.concatenate([probs[:, :1], probs, probs[:, -1:]], axis=1)


def drawn_spans(rows: list[TimelineRow]) -> list[tuple[float, float]]:
    """The time span each window occupies in the plot of :func:`stack_points`: from the midpoint to the previous
    centre to the midpoint to the next one (the first from its start, the last to its end). Windows overlap, so a
    window's whole ``[start, end)`` would shade its neighbours' data too."""
    centres = [0.5 * (r.start + r.end) for r in rows]
    cuts = [0.5 * (a + b) for a, b in zip(centres, centres[1:])]
    return list(zip([rows[0].start, *cuts], [*cuts, rows[-1].end])) if rows else []


def write_timeline_png(timeline: Timeline, path: str | os.PathLike[str]) -> Path:
    """A stacked plot of the class probabilities over time, the top class marked per window."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = timeline.class_names
    rows = timeline.rows
    centres = np.array([0.5 * (r.start + r.end) for r in rows])  # (W,)
    probs = np.nan_to_num(timeline.probabilities, nan=0.0).T  # (C, W): a window without a face stacks to 0
    xs, ys = stack_points(rows, probs)
    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    strip, ax = fig.subplots(2, 1, sharex=True, height_ratios=(1, 8))
    colours = [f"C{i % 10}" for i in range(len(names))]
    ax.stackplot(xs, ys, labels=names, colors=colours, alpha=0.85, step="mid")
    for r, (left, right) in zip(rows, drawn_spans(rows), strict=True):
        if r.face_found is False:
            ax.axvspan(left, right, color="0.85", zorder=0, lw=0)
            strip.axvspan(left, right, color="0.85", lw=0)
    for r, c in zip(rows, centres, strict=True):
        if r.top is not None:
            strip.scatter([c], [0.5], color=colours[r.top], marker="s", s=30)
    strip.set_yticks([])
    strip.set_ylabel("top", rotation=0, ha="right", va="center")
    strip.set_title(f"{timeline.video.name}: class probabilities per window (grey: no face)")
    ax.set_xlim(0.0, max(timeline.duration, float(centres.max()) if rows else 0.0))
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return Path(path)


def write_timeline(timeline: Timeline, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """``timeline.csv``, ``timeline.json`` and ``timeline.png`` in ``out_dir`` (created); returns their paths."""
    out = Path(out_dir)
    return {
        "csv": write_timeline_csv(timeline, out / "timeline.csv"),
        "json": write_timeline_json(timeline, out / "timeline.json"),
        "png": write_timeline_png(timeline, out / "timeline.png"),
    }
