"""``benchmarks/bench_fusion_kinds.py``: a ``--tiny`` run times the three fusion kinds on bit-identical backbones,
labels each by its registered kind, and its ratios are those of the step times it records. No test asserts a time."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.report import render  # noqa: E402
from benchmarks.specs import SPECS, build_model  # noqa: E402

from benchmarks import bench_fusion_kinds  # noqa: E402

KINDS = {"mma-dfer-fusion-mbt": "attention-bottleneck", "mma-dfer": "mean-bottleneck", "mma-dfer-fusion-none": "none"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fusion_kinds")
    threads = torch.get_num_threads()
    try:
        result = bench_fusion_kinds.main(
            [
                *("--tiny", "--device", "cpu", "--threads", "1", "--quiet", "--note", "shared machine"),
                *("--out", str(folder / "cpu_fusion_kinds.json")),
            ]
        )
    finally:
        torch.set_num_threads(threads)
    return folder, result


def test_tiny_run_writes_what_it_returns_for_every_preset_and_mode(tiny_run):
    folder, result = tiny_run
    saved = json.loads((folder / "cpu_fusion_kinds.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert {(r["mode"], r["preset"]) for r in saved["results"]} == {
        (m, p) for m in ("train", "inference") for p in KINDS
    }
    assert saved["reference"] == "mma-dfer" and saved["no_fusion"] == "mma-dfer-fusion-none"
    for row in saved["results"]:
        assert row["clips_per_s"] == pytest.approx(1 / (row["step_ms_median"] / 1e3))
        assert len(row["cpu_times_ms"]) == saved["args"]["rounds"]


def test_each_preset_is_labelled_by_its_registered_fusion_kind(tiny_run):
    _, result = tiny_run
    assert {name: p["fusion_kind"] for name, p in result["presets"].items()} == KINDS


def test_counted_flops_and_parameters_order_the_kinds(tiny_run):
    _, result = tiny_run
    p = result["presets"]
    flops = {k: p[k]["gflop_forward_per_clip"] for k in KINDS}
    # MBT runs every fused block twice (native, and with its tokens): about twice the encoders' work
    assert flops["mma-dfer-fusion-none"] < flops["mma-dfer"] < flops["mma-dfer-fusion-mbt"]
    assert flops["mma-dfer-fusion-mbt"] > 1.5 * flops["mma-dfer-fusion-none"]
    params = {k: p[k]["trainable_params"] for k in KINDS}
    assert params["mma-dfer-fusion-none"] < min(params["mma-dfer"], params["mma-dfer-fusion-mbt"])


def test_ratios_are_medians_of_per_round_ratios_and_one_against_themselves(tiny_run):
    _, result = tiny_run
    cpu = {(r["mode"], r["preset"]): r["cpu_times_ms"] for r in result["results"]}
    for q in result["ratios"]:
        mine, ref, none = (cpu[q["mode"], name] for name in (q["preset"], "mma-dfer", "mma-dfer-fusion-none"))
        per_round = [a / b for a, b in zip(mine, ref, strict=True)]
        assert q["clock"] == "process_cpu"
        assert q["over_reference"]["median"] == pytest.approx(statistics.median(per_round))
        assert q["over_reference"]["min_max"] == pytest.approx([min(per_round), max(per_round)])
        assert q["over_none"]["median"] == pytest.approx(statistics.median(a / b for a, b in zip(mine, none)))
        flops = result["presets"]
        assert q["flops_over_reference"] == pytest.approx(
            flops[q["preset"]]["gflop_forward_per_clip"] / flops["mma-dfer"]["gflop_forward_per_clip"]
        )
    by = {(q["mode"], q["preset"]): q for q in result["ratios"]}
    for mode in ("train", "inference"):
        assert by[mode, "mma-dfer"]["over_reference"]["median"] == 1.0
        assert by[mode, "mma-dfer-fusion-none"]["over_none"]["median"] == 1.0


def test_results_md_has_a_row_per_mode_and_preset(tiny_run):
    folder, result = tiny_run
    text = render(folder)
    assert "`cpu_fusion_kinds.json` (bench_fusion_kinds)" in text
    mbt = next(q for q in result["ratios"] if q["mode"] == "train" and q["preset"] == "mma-dfer-fusion-mbt")
    assert "| train | `mma-dfer-fusion-mbt` | attention-bottleneck |" in text
    assert f"x{mbt['over_reference']['median']:.3f}" in text
    load = result["load_average_1m"]
    assert f"Note: shared machine; load average (1 min) {load['start']:.2f} -> {load['end']:.2f}." in text


def test_models_of_one_seed_share_backbones_and_the_check_catches_others():
    spec = SPECS["tiny"]
    same = {p: build_model(spec, 32, 2, seed=0, preset=p) for p in KINDS}
    bench_fusion_kinds.check_same_backbones(same)  # the seed fixes the backbones whatever the preset
    other = {**same, "mma-dfer": build_model(spec, 32, 2, seed=1, preset="mma-dfer")}
    with pytest.raises(RuntimeError, match="differ in backbone"):
        bench_fusion_kinds.check_same_backbones(other)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--reference", "mma-dfer-plain"], "--reference 'mma-dfer-plain' is not one of --presets"),
        (["--presets", "mma-dfer", "mma-dfr"], "--presets: unknown preset 'mma-dfr'"),
        (["--presets", "mma-dfer", "mma-dfer"], "--presets: a preset is named twice"),
        (["--rounds", "0"], "--rounds must be >= 1, got 0"),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench_fusion_kinds.main(["--tiny", "--device", "cpu", *argv])
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_vit_b_and_tiny_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        bench_fusion_kinds.parse_args(["--vit-b", "--tiny"])
    assert "not allowed with argument" in capsys.readouterr().err
