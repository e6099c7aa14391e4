"""timeline.csv / timeline.json / timeline.png: the documented columns, no invented numbers, atomic writes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mmadapt.timeline import Timeline, TimelineConfig, TimelineRow, write_timeline
from mmadapt.timeline.write import CSV_COLUMNS, drawn_spans, stack_points

NAMES = ["neutral", "happy", "sad"]


def _timeline() -> Timeline:
    rows = [
        TimelineRow(0.0, 2.0, np.array([0.2, 0.7, 0.1]), True, 4, 4, True),
        TimelineRow(0.5, 2.5, np.full(3, np.nan), False, 0, 4, True),
        TimelineRow(1.0, 3.0, np.array([0.5, 0.2, 0.3]), True, 2, 4, False),
    ]
    return Timeline(Path("clip.mp4"), 3.0, NAMES, TimelineConfig(), 16_000, True, rows, ["1 of 3 windows ..."])


def test_csv_has_the_documented_columns_and_leaves_missing_predictions_empty(tmp_path):
    files = write_timeline(_timeline(), tmp_path)
    with files["csv"].open() as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == [*CSV_COLUMNS, "p_neutral", "p_happy", "p_sad"]
    assert [r["start"] for r in table] == ["0.000", "0.500", "1.000"]
    assert [r["face_found"] for r in table] == ["true", "false", "true"]
    assert [r["top_class"] for r in table] == ["happy", "", "neutral"]
    assert [r["audio_present"] for r in table] == ["true", "true", "false"]
    assert table[1]["p_happy"] == "" and float(table[0]["p_happy"]) == pytest.approx(0.7)
    assert [int(r["face_frames"]) for r in table] == [4, 0, 2]


def test_json_holds_the_same_rows_with_null_for_no_prediction(tmp_path):
    doc = json.loads(write_timeline(_timeline(), tmp_path)["json"].read_text())
    assert doc["class_names"] == NAMES and doc["duration"] == 3.0 and doc["sample_rate"] == 16_000
    assert doc["config"]["window"] == 2.0 and doc["notes"] == ["1 of 3 windows ..."]
    first, second, _ = doc["windows"]
    assert first["probabilities"] == {"neutral": 0.2, "happy": 0.7, "sad": 0.1} and first["top_class"] == "happy"
    assert second["probabilities"] is None and second["face_found"] is False and second["top_class"] is None


def test_png_is_a_plot_and_nothing_else_is_left_in_the_folder(tmp_path):
    files = write_timeline(_timeline(), tmp_path)
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeline.csv", "timeline.json", "timeline.png"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    write_timeline(_timeline(), tmp_path)
    before = (tmp_path / "timeline.png").read_bytes()

    def broken(self, fname, **kw):
        Path(fname).write_bytes(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        write_timeline(_timeline(), tmp_path)
    assert (tmp_path / "timeline.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timeline.csv", "timeline.json", "timeline.png"]


def test_the_plot_covers_the_first_window_from_its_start_and_the_last_to_its_end():
    timeline = _timeline()
    probs = np.nan_to_num(timeline.probabilities, nan=0.0).T  # (C, W)
    xs, ys = stack_points(timeline.rows, probs)
    assert xs[0] == 0.0 and xs[-1] == 3.0  # not the first and last centres (1.0, 2.0)
    assert list(xs[1:-1]) == [1.0, 1.5, 2.0]
    np.testing.assert_array_equal(ys[:, 0], probs[:, 0])
    np.testing.assert_array_equal(ys[:, -1], probs[:, -1])
    np.testing.assert_array_equal(ys[:, 1:-1], probs)


def test_a_windows_shading_covers_only_its_own_step_of_the_plot():
    rows = _timeline().rows  # windows [0, 2), [0.5, 2.5), [1, 3): centres 1.0, 1.5, 2.0
    assert drawn_spans(rows) == [(0.0, 1.25), (1.25, 1.75), (1.75, 3.0)]
    assert drawn_spans([]) == []
