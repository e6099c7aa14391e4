"""`mmadapt predict VIDEO --timeline` on the demo's run folder writes the three files; misuse is one line."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest

from mmadapt.cli import main
from mmadapt.timeline import window_schedule

from ._media import square_frames, tone, write_av


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def test_timeline_writes_csv_json_and_png_with_one_row_per_window(demo_run, tmp_path):
    video = write_av(tmp_path / "v.mp4", square_frames(3.0, lambda t: None), tone(3.0, 16_000), 16_000)
    out = tmp_path / "tl"
    argv = ["predict", "--adapter", str(demo_run), str(video), "--timeline", "--window", "1", "--stride", "0.5"]
    code, stdout = _run([*argv, "--no-faces", "--out", str(out)])
    assert code == 0, stdout
    windows = window_schedule(3.0, 1.0, 0.5)
    with (out / "timeline.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["start"]) for r in rows] == [w.start for w in windows]
    assert all(r["top_class"] for r in rows) and all(r["audio_present"] == "true" for r in rows)
    doc = json.loads((out / "timeline.json").read_text())
    assert doc["class_names"] == [c[2:] for c in list(rows[0]) if c.startswith("p_")]
    assert (out / "timeline.png").stat().st_size > 0
    assert f"{len(windows)} windows of 1 s every 0.5 s, {len(windows)} predicted" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "1"], "--window only work with --timeline"),
        (["second.mp4", "--timeline"], "--timeline takes one VIDEO, got 2"),
        (["--timeline", "--stride", "3"], "stride must lie in"),
    ],
)
def test_timeline_misuse_is_one_line(demo_run, tmp_path, capsys, extra, message):
    video = write_av(tmp_path / "v.mp4", square_frames(1.0, lambda t: None), tone(1.0, 16_000), 16_000)
    code = main(["predict", "--adapter", str(demo_run), str(video), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
