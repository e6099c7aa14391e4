"""The benchmark scripts: the FLOP formula against an independent count, the baselines against the model, and a
tiny CPU run of every script checking what its JSON holds. No test asserts a time."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.baselines import BackboneFloor, NaiveMMADFER, cross_entropy, floor_loss  # noqa: E402
from benchmarks.bench_model import _flops_for  # noqa: E402
from benchmarks.envinfo import default_peak_tflops, write_json  # noqa: E402
from benchmarks.flops import model_flops, vit_block_flops  # noqa: E402
from benchmarks.report import render  # noqa: E402
from benchmarks.specs import SPECS, build_model, make_batch, randomise  # noqa: E402
from benchmarks.timing import StepTimer, measure  # noqa: E402

from benchmarks import bench_data, bench_model, gpu_check, profile_step, run_all  # noqa: E402

TINY = [
    "--device",
    "cpu",
    "--backbone",
    "tiny",
    "--frames",
    "2",
    "--batch",
    "2",
    "--iters",
    "2",
    "--warmup",
    "1",
    "--threads",
    "1",
    "--quiet",
]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny ops on two shared cores stall whenever a second thread waits for a busy core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(one_thread):
    model = build_model(SPECS["tiny"], 32, 3, seed=0)
    randomise(model, seed=1)  # every path (prompts, progressive updates, fusion) moves the logits
    return model, make_batch(model, 2, 3, "cpu", seed=0)


def _counted(fn) -> int:
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:  # math SDPA = countable bmm
        fn()
    return counter.get_total_flops()


# ---- the FLOP formula --------------------------------------------------------------------------------------------
def test_formula_matches_torch_flop_counter_forward_and_train(tiny):
    model, (video, audio, labels) = tiny
    fl = model_flops(model, frames=3)
    n = video.shape[0]
    model.train()
    with torch.no_grad():
        assert _counted(lambda: model(video, audio)) == pytest.approx(n * fl.forward, rel=0.01)
    assert _counted(lambda: cross_entropy(model(video, audio), labels).backward()) == pytest.approx(
        n * fl.train, rel=0.01
    )
    floor = BackboneFloor(model)
    with torch.no_grad():
        assert _counted(lambda: floor(video, audio)) == pytest.approx(n * fl.backbone_forward, rel=0.01)
    assert _counted(lambda: floor_loss(floor(video, audio)).backward()) == pytest.approx(
        n * fl.backbone_train, rel=0.01
    )
    model.zero_grad(set_to_none=True)
    nofusion = build_model(SPECS["tiny"], 32, 3, fusion=None).train()
    assert _counted(lambda: cross_entropy(nofusion(video, audio), labels).backward()) == pytest.approx(
        n * _flops_for(fl, "nofusion", "train"), rel=0.01
    )


def test_vitb_preset_at_160px_is_the_issue_figure():
    model = build_model(SPECS["vitb"], 160, 16, device="meta")
    fl = model_flops(model, frames=16)
    # closed form per block, written out independently of the module walk
    video = sum(vit_block_flops(1 + 100 + 6, 768, 3072)) * 16 * 12
    audio = sum(vit_block_flops(1 + 256 + 6, 768, 3072)) * 12
    assert fl.video_linear + fl.video_attention == video
    assert fl.audio_linear + fl.audio_attention == audio
    assert (video + audio) / 1e9 == pytest.approx(344.8, abs=0.05)  # "~345 GFLOP per clip forward"
    assert fl.forward / 1e9 == pytest.approx(356.19, abs=0.01)
    assert fl.train / fl.forward == pytest.approx(2.05, abs=0.01)  # ~2x forward: activation gradients only


# ---- the baselines -----------------------------------------------------------------------------------------------
def test_naive_loop_is_the_same_model(tiny):
    model, (video, audio, _) = tiny
    model.eval()
    naive = NaiveMMADFER(model)
    with torch.no_grad():
        ours = model(video, audio)
        assert (naive(video, audio) - ours).abs().max() < 1e-5
        # not vacuous: the second progressive update (after block 2 of 4) moves the logits far more than 1e-5
        assert model.prompts["video"].schedule == {0: 3, 2: 3}
        progressive = model.prompts["video"].progressive[1]
        saved = progressive.clone()
        progressive.add_(torch.randn(progressive.shape, generator=torch.Generator().manual_seed(0)))
        try:
            moved = naive(video, audio)
            assert (moved - ours).abs().max() > 1e-3
            assert (moved - model(video, audio)).abs().max() < 1e-5
        finally:
            progressive.copy_(saved)


def test_floor_runs_every_block_on_the_models_token_counts(tiny):
    model, (video, audio, _) = tiny
    seen: dict[str, list[tuple[int, ...]]] = {"model": [], "floor": []}
    key = ["model"]
    handles = [
        blk.register_forward_pre_hook(lambda m, args: seen[key[0]].append(tuple(args[0].shape)))
        for vit in (model.backbones["audio"], model.backbones["video"])
        for blk in vit.blocks
    ]
    try:
        with torch.no_grad():
            model(video, audio)
            key[0] = "floor"
            BackboneFloor(model)(video, audio)
    finally:
        for h in handles:
            h.remove()
    assert sorted(seen["floor"]) == sorted(seen["model"])
    assert len(seen["floor"]) == 2 * SPECS["tiny"].depth


def test_floor_backward_reaches_only_its_inputs(tiny):
    model, (video, audio, _) = tiny
    floor = BackboneFloor(model)
    floor_loss(floor(video, audio)).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in floor.trainable())
    assert all(p.grad is None for p in model.backbones["audio"].parameters())


# ---- timing helpers ----------------------------------------------------------------------------------------------
def test_measure_interleaves_rounds_with_rotating_order():
    calls: list[str] = []
    steps = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    result = measure(steps, warmup=1, iters=3, timer=StepTimer(torch.device("cpu")))
    assert calls[:3] == ["a", "b", "c"]  # warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert all(len(m.times_ms) == 3 and m.median_ms >= 0 and m.peak_mem_mb > 0 for m in result.values())


@pytest.mark.parametrize("threshold", [0, 1, 2, 3, 100, 1000, 4095, 5000])
def test_max_batch_search_brackets_the_largest_fitting_batch(threshold):
    probes: list[int] = []

    def fits(n: int) -> bool:
        probes.append(n)
        return n <= threshold

    lo, hi = bench_model.search_max_batch(fits, limit=4096)
    if threshold >= 4096:
        assert (lo, hi) == (4096, None)  # never failed below the limit
    else:
        assert lo <= threshold < hi and hi - lo <= max(1, lo // 32)
    assert len(probes) <= 2 * 13  # doubling + bisection, not a linear scan


def test_peak_table_and_atomic_json(tmp_path):
    assert default_peak_tflops("NVIDIA H100 80GB HBM3", "bf16") == 989.0
    assert default_peak_tflops("NVIDIA H100 PCIe", "bf16") == 756.0
    assert default_peak_tflops("NVIDIA H200", "bf16") == 989.0
    assert default_peak_tflops("AMD EPYC", "bf16") is None
    with pytest.raises(ValueError):
        write_json(tmp_path / "x.json", {"v": math.nan})
    assert list(tmp_path.iterdir()) == []  # no partial or temporary file left


# ---- smoke runs of the scripts -----------------------------------------------------------------------------------
def _positive_finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_bench_model_smoke_writes_complete_json(tmp_path):
    out = tmp_path / "r.json"
    result = bench_model.main([*TINY, "--sizes", "32", "--mode", "both", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["results"] == json.loads(json.dumps(result["results"]))
    env = saved["env"]
    for key in ("device_name", "torch", "timm", "date_utc", "git_commit", "python"):
        assert env[key], key
    assert {(r["mode"], r["variant"]) for r in saved["results"]} == {
        (m, v) for m in ("train", "inference") for v in ("ours", "floor", "naive", "nofusion")
    }
    for row in saved["results"]:
        for key in ("step_ms_median", "clips_per_s", "gflop_per_clip", "achieved_tflops", "peak_mem_mb"):
            assert _positive_finite(row[key]), (key, row)
        assert row["mfu"] is None  # no known peak for a CPU
        assert row["clips_per_s"] == pytest.approx(2 / (row["step_ms_median"] / 1e3))
    for q in saved["ratios"]:
        for key in (
            "overhead_over_floor",
            "overhead_over_floor_paired",
            "excess_over_flops",
            "lockstep_overhead",
            "lockstep_overhead_paired",
        ):
            assert math.isfinite(q[key]) and q[key] > -1
        assert _positive_finite(q["speedup_over_naive"])
        assert q["adapter_flop_share"] > 0
    assert _positive_finite(saved["flops"]["32"]["train_gflop"])


def test_bench_model_with_bf16_backbones_runs_a_bf16_stream_without_the_naive_loop():
    result = bench_model.main([*TINY, "--sizes", "32", "--mode", "train", "--backbone-dtype", "bf16"])
    assert {r["variant"] for r in result["results"]} == {"ours", "floor", "nofusion"}
    assert result["args"]["backbone_dtype"] == "bf16"
    with pytest.raises(SystemExit):
        bench_model.main([*TINY, "--backbone-dtype", "bf16", "--variants", "naive"])


def test_bench_model_regional_variant_compiles_only_the_fusion_and_reports_its_speedup():
    torch._dynamo.reset()
    result = bench_model.main(
        [*TINY, "--sizes", "32", "--mode", "both", "--variants", "ours", "regional", "--compile-backend", "aot_eager"]
    )
    rows = {(r["mode"], r["variant"]): r for r in result["results"]}
    assert set(rows) == {(m, v) for m in ("train", "inference") for v in ("ours", "regional")}
    assert not any(r["compiled"] for r in rows.values())  # regional is never wrapped in a whole-model compile
    assert rows["train", "regional"]["gflop_per_clip"] == rows["train", "ours"]["gflop_per_clip"]
    for q in result["ratios"]:
        assert _positive_finite(q["regional_speedup"]) and _positive_finite(q["regional_speedup_paired"])


def test_floor_with_bf16_backbones_keeps_a_bf16_stream():
    model = build_model(SPECS["tiny"], 32, 2, seed=0, backbone_dtype="bf16")
    video, audio, _ = make_batch(model, 2, 2, "cpu", seed=0)
    seen = set()
    handles = [
        blk.register_forward_pre_hook(lambda m, args: seen.add(args[0].dtype))
        for vit in (model.backbones["audio"], model.backbones["video"])
        for blk in vit.blocks
    ]
    try:
        with torch.no_grad():
            BackboneFloor(model)(video, audio)
    finally:
        for h in handles:
            h.remove()
    assert seen == {torch.bfloat16}


def test_bench_data_times_both_layouts_and_their_stages(tmp_path):
    out = tmp_path / "data.json"
    record = bench_data.main(
        [
            "--clips-per-class",
            "2",
            "--img-size",
            "32",
            "--source-size",
            "32",
            "--num-frames",
            "4",
            "--audio-frames",
            "64",
            "--repeats",
            "1",
            "--out",
            str(out),
        ]
    )
    assert json.loads(out.read_text()) == record
    for prefix in ("", "frames_"):
        for mode in ("train", "test"):
            assert _positive_finite(record[f"{prefix}{mode}_clips_per_s"])
            stages = record[f"{prefix}{mode}_stage_ms_per_clip"]
            assert set(stages) == {"decode", "transform", "fbank"} and all(_positive_finite(v) for v in stages.values())
            # the stages are the whole item: their sum cannot exceed the time per clip
            assert sum(stages.values()) <= 1e3 / record[f"{prefix}{mode}_clips_per_s"] * 1.01


def test_bench_model_mfu_uses_the_given_peak(tmp_path):
    result = bench_model.main(
        [*TINY, "--sizes", "32", "--mode", "inference", "--variants", "ours", "--peak-tflops", "2.0"]
    )
    row = result["results"][0]
    assert row["mfu"] == pytest.approx(row["achieved_tflops"] / 2.0)


def test_gpu_check_smoke_on_cpu(tmp_path):
    summary = gpu_check.main(["--device", "cpu", "--smoke", "--threads", "1", "--out", str(tmp_path)])
    assert summary["passed"]
    stages = summary["stages"]
    assert stages["correctness"]["result"]["passed"]
    ok = (
        "peak",
        "eager",
        "bf16_weights",
        "regional",
        "profile",
        "profile_bf16_weights",
        "gate",
        "checkpointing",
        "sizes",
        "fp32",
        "patch_conv",
    )
    assert all(stages[s]["status"] == "ok" for s in ok), {s: stages[s].get("error") for s in ok}
    assert all(
        stages[s]["status"] == "skipped" for s in ("compiled", "bf16_weights_compiled", "max_batch", "cudagraphs")
    )
    assert stages["correctness"]["result"]["bf16_weights_logits_max_diff_over_scale"]["ok"]
    assert _positive_finite(stages["peak"]["result"]["tflops"])
    assert json.loads((tmp_path / "summary.json").read_text())["passed"]
    eager = json.loads((tmp_path / "eager.json").read_text())
    assert all(_positive_finite(r["clips_per_s"]) for r in eager["results"])
    profile = json.loads((tmp_path / "profile.json").read_text())
    assert profile["total_ms"]["ours"] > 0 and profile["total_ms"]["floor"] > 0
    regional = json.loads((tmp_path / "regional.json").read_text())
    assert all(_positive_finite(q["regional_speedup"]) for q in regional["ratios"])
    text = render(tmp_path)
    assert "Regional compilation (`compile_fusion`)" in text
    assert "(profile_step)" in text and "(bench_gate)" in text and "| peak | ok |" in text


@pytest.mark.parametrize(
    "op, fam",
    [
        ("aten::mm", "matmul"),
        ("aten::addmm", "matmul"),
        ("aten::convolution_backward", "matmul"),
        ("aten::_scaled_dot_product_flash_attention_backward", "attention"),
        ("aten::native_layer_norm", "norm"),
        ("aten::addcmul", "elementwise"),
        ("aten::gelu_backward", "elementwise"),
        ("aten::tanh", "elementwise"),
        ("aten::_to_copy", "copy_cast"),
        ("aten::to", "copy_cast"),
        ("aten::sum", "reduction"),
        ("aten::_fused_adamw_", "optimizer"),
        ("aten::stack", "other"),
    ],
)
def test_profile_families(op, fam):
    assert profile_step.family(op) == fam


def test_profile_step_difference_is_ours_minus_floor():
    result = profile_step.main(
        [
            "--device",
            "cpu",
            "--backbone",
            "tiny",
            "--size",
            "32",
            "--frames",
            "2",
            "--batch",
            "1",
            "--steps",
            "1",
            "--threads",
            "1",
            "--quiet",
            "--top",
            "5",
        ]
    )
    rows = result["top_ops_by_difference"]
    assert len(rows) == 5
    assert all(r["difference_ms"] == pytest.approx(r["ours_ms"] - r["floor_ms"]) for r in rows)
    assert abs(rows[0]["difference_ms"]) >= abs(rows[-1]["difference_ms"])
    fams = result["families_ms"]
    assert fams["ours"]["optimizer"] > 0 and "optimizer" not in fams["floor"]  # the floor steps no optimiser


def test_run_all_smoke_renders_results_md(tmp_path):
    md = tmp_path / "RESULTS.md"
    run_all.main(["--smoke", "--no-data", "--results", str(tmp_path / "results"), "--markdown", str(md)])
    saved = json.loads((tmp_path / "results" / "cpu_tiny_32_fp32_b1.json").read_text())
    text = md.read_text()
    assert f"## Device cpu: {saved['env']['device_name']}" in text
    ours_train = next(r for r in saved["results"] if r["mode"] == "train" and r["variant"] == "ours")
    assert f"| 32 | train | ours | {ours_train['clips_per_s']:.3g} |" in text


@pytest.mark.parametrize(
    ("value", "text"), [(1105.4, "1,105"), (419.2, "419"), (100.0, "100"), (53.04, "53"), (0.2049, "0.205")]
)
def test_report_writes_rates_as_whole_numbers_from_100_up(value, text):
    """RESULTS.md once printed 1,105 clips/s as '1.1e+03'."""
    from benchmarks.report import _rate

    assert _rate(value) == text
