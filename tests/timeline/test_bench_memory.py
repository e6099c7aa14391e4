"""benchmarks/bench_timeline_memory.py: its long-video writer and its measuring child, run tiny in-process (no
assertion on memory or time: that is the benchmark's record, not a test)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import bench_timeline_memory as bench  # noqa: E402
from mmadapt.data import probe_media  # noqa: E402
from mmadapt.timeline import window_schedule  # noqa: E402


@pytest.mark.slow  # ~5 s alone, 20 s beside a busy neighbour: imports timm and builds a model
def test_the_long_video_has_the_asked_length_and_the_child_reports_its_windows(tmp_path):
    video = bench.write_long_video(tmp_path / "long.mp4", minutes=0.1)
    info = probe_media(video)
    assert info.num_frames == round(0.1 * 60 * bench.FPS) and info.sample_rate == bench.RATE
    row = bench.child(video, "timeline")
    assert row["count"] == len(window_schedule(6.0, 2.0, 0.5))
    assert row["peak_rss_mib"] >= row["baseline_peak_rss_mib"] > 0


def test_the_results_page_renders_the_memory_record_as_a_table(tmp_path):
    from benchmarks.report import render

    record = json.loads((REPO / "benchmarks" / "results" / "cpu_timeline_memory.json").read_text())
    (tmp_path / "cpu_timeline_memory.json").write_text(json.dumps(record))
    page = render(tmp_path)
    assert "(bench_timeline_memory)" in page
    for row in record["results"]:
        assert f"| {row['minutes']:g} min | {row['mode']} | {row['file_mib']:.1f} | {row['peak_rss_mib']:.0f} " in page
