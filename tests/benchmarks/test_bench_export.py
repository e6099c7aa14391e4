"""``benchmarks/bench_export.py``: a ``--tiny`` run exports once, gives the eager logits through onnxruntime, and
its ratio is the median of the per-round ratios it records. No test asserts a time."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

pytest.importorskip("onnxruntime")

from benchmarks.report import render  # noqa: E402
from benchmarks.timing import Measurement  # noqa: E402

from benchmarks import bench_export  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One ``--tiny`` run (the ONNX export takes seconds), shared by the tests below."""
    folder = tmp_path_factory.mktemp("export")
    threads = torch.get_num_threads()
    try:
        result = bench_export.main(["--tiny", "--threads", "1", "--quiet", "--out", str(folder / "cpu_export.json")])
    finally:
        torch.set_num_threads(threads)
    return folder, result


def test_tiny_run_writes_what_it_returns_with_env_and_onnx_versions(tiny_run):
    folder, result = tiny_run
    saved = json.loads((folder / "cpu_export.json").read_text())
    assert saved == json.loads(json.dumps(result))
    for key in ("device_name", "torch", "git_commit", "date_utc", "onnxruntime", "onnx"):
        assert saved["env"][key], key
    assert saved["args"]["backbone"] == "tiny" and saved["batch"] == 1
    assert saved["export"]["wall_s"] > 0 and saved["export"]["file_mb"] > 0


def test_onnxruntime_gives_the_eager_logits(tiny_run):
    _, result = tiny_run
    parity = result["parity"]
    assert parity["shape"] == [1, 7]  # batch 1, the preset's 7 classes
    assert parity["logits_max_abs"] > 0.1  # randomised: the logits are not all ~0, so the diff below means something
    assert parity["logits_max_abs_diff"] < 1e-4


def test_session_threads_are_the_torch_threads_and_one_thread_times_on_the_cpu_clock(tiny_run):
    _, result = tiny_run
    assert result["session_threads"] == {"intra_op": 1, "inter_op": 1}
    assert result["env"]["torch_threads"] == 1
    assert result["clock"] == "process_cpu"


def test_ratio_is_the_median_of_the_recorded_per_round_ratios(tiny_run):
    _, result = tiny_run
    eager, ort = result["workloads"]["eager"]["cpu_times_ms"], result["workloads"]["onnxruntime"]["cpu_times_ms"]
    per_round = [o / e for o, e in zip(ort, eager, strict=True)]
    assert len(per_round) == result["args"]["rounds"] == 2
    assert result["ratio_ort_over_eager_rounds"] == pytest.approx(per_round)
    assert result["ratio_ort_over_eager"] == pytest.approx(statistics.median(per_round))
    assert result["ratio_ort_over_eager_min_max"] == pytest.approx([min(per_round), max(per_round)])


def test_results_md_shows_the_ratio_and_parity(tiny_run):
    folder, result = tiny_run
    text = render(folder)
    assert "`cpu_export.json` (bench_export)" in text
    assert f"**onnxruntime / eager = {result['ratio_ort_over_eager']:.3f}**" in text
    assert f"logits max abs diff {result['parity']['logits_max_abs_diff']:.1e}" in text


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.1, 1e4), min_size=1, max_size=9).flatmap(
        lambda a: st.tuples(st.just(a), st.lists(st.floats(0.1, 1e4), min_size=len(a), max_size=len(a)))
    ),
    st.floats(0.5, 4.0),
)
def test_ratio_reads_the_named_clock_and_scales_with_the_numerator(times, scale):
    a, b = times
    wall = [1.0] * len(a)  # the other clock: a ratio of exactly 1 if it were read
    ma, mb = Measurement(wall, 0.0, "rss", a), Measurement(wall, 0.0, "rss", b)
    r = bench_export._ratio(ma, mb, "process_cpu")
    lo, hi = r["ratio_ort_over_eager_min_max"]
    assert lo <= r["ratio_ort_over_eager"] <= hi
    scaled = bench_export._ratio(Measurement(wall, 0.0, "rss", [x * scale for x in a]), mb, "process_cpu")
    assert scaled["ratio_ort_over_eager"] == pytest.approx(scale * r["ratio_ort_over_eager"])
    assert bench_export._ratio(ma, mb, "wall")["ratio_ort_over_eager"] == 1.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rounds", "0"], "--rounds must be >= 1, got 0"),
        (["--frames", "0"], "--frames must be >= 1, got 0"),
        (["--warmup", "-1"], "--warmup must be >= 0, got -1"),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench_export.main(["--tiny", *argv])
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)
