"""The one script to run on a GPU (< 8 minutes): correctness first, then the benchmarks, all under ``--out``.

Stages, in priority order; each is skipped when the time budget (``--budget-s``) cannot hold it, and on CUDA each
benchmark runs in its own process under a timeout so a slow compilation cannot eat the rest:

1. ``correctness``  -- a small seeded pair (``specs.SPECS["tiny"]``, random gates and adapters): CUDA fp32 logits
   and adapter gradients against the CPU fp32 run (TF32 off; logits within 1e-4, gradients within 1e-3 of their
   largest magnitude), CUDA bf16 autocast logits within ``BF16_TOL`` of the largest CPU logit, the naive loop
   against the model on CUDA (1e-4), the same with bf16 backbone weights (a bf16 residual stream, fp32 adapters)
   within ``BF16_TOL``, and the train step's loss decreasing over a few steps.
2. ``peak``         -- the card's measured bf16 matrix-product rate (8192^3, median of 10), the MFU reference that
   the issue's "800 TFLOP/s" stands for (the benchmark tables use the datasheet's dense peak).
3. ``eager``        -- ``bench_model`` at 160 px x 16 frames, bf16, train + inference: ours, floor, naive, no-fusion.
   ``bf16_weights`` -- the same with the frozen backbones cast to bf16 (``cast_backbones``): ours, floor, no-fusion.
   ``regional``     -- bf16 backbone weights, eager, against the same model with only its fusion steps compiled
   (``compile_fusion``, regional compilation).
4. ``profile``      -- ``profile_step.py``: device time per operator family, ours vs the floor (eager bf16 train);
   ``profile_bf16_weights`` the same with bf16 backbone weights.
   ``gate``         -- ``bench_gate.py``: the fusion's gated residual (hand-written backward) against autograd.
5. ``sizes``        -- 112 and 224 px, eager bf16 (ours, floor, naive, no-fusion).
6. ``max_batch``    -- the largest train-step batch with and without activation checkpointing.
7. ``compiled``     -- ``torch.compile`` (ours and floor; the naive loop stays eager).
   ``bf16_weights_compiled`` -- the same with bf16 backbone weights.
8. ``checkpointing``-- train step throughput with checkpointing (ours, floor).
9. ``fp32``         -- 160 px eager fp32 (ours, floor, naive) at half the batch.
10. ``cudagraphs``   -- ``torch.compile(mode="reduce-overhead")`` (CUDA graphs), ours.
11. ``patch_conv``   -- micro-benchmark of the video patch convolution, NCHW vs channels-last input.

Each isolated stage is killed after ``STAGE_TIMEOUT_FACTOR`` times its estimate, so one slow compilation leaves
time for the stages after it.

``--device cpu --smoke`` runs every stage that makes sense on a CPU in a few seconds on the tiny pair (the test
suite does this). Usage on the GPU machine, from the repository root::

    python benchmarks/gpu_check.py --out benchmarks/results/gpu_$(date +%Y%m%d)
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import REPO_ROOT, ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402

from benchmarks import bench_gate, bench_model, profile_step  # noqa: E402
from benchmarks.baselines import NaiveMMADFER, cross_entropy  # noqa: E402
from benchmarks.envinfo import SCHEMA, collect_env, write_json  # noqa: E402
from benchmarks.specs import SPECS, build_model, make_batch, randomise  # noqa: E402
from benchmarks.timing import with_threads  # noqa: E402

logger = logging.getLogger(__name__)

FP32_TOL = 1e-4
"""CUDA vs CPU fp32 logits (TF32 off): only the summation order differs."""
GRAD_TOL = 1e-3
"""CUDA vs CPU fp32 adapter gradients, relative to the largest gradient entry of each tensor."""
STAGE_TIMEOUT_FACTOR = 1.5
"""An isolated benchmark stage may run this many times its estimate (never past the budget)."""
BF16_TOL = 3e-2
"""CUDA bf16 autocast vs CPU fp32 logits, relative to max(1, largest |logit|). bf16 keeps 8 significant bits
(rounding error 2^-9 ~ 0.2 % per op); on the tiny pair CPU bf16 autocast differs from fp32 by 0.3-0.5 % of the
largest logit (four seeds), so 3 % leaves a 6x margin yet catches a wrong kernel or a missed cast."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--smoke", action="store_true", help="tiny pair, 1 iteration: checks the script, not the speed")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default benchmarks/results/<device>_check; a temporary folder with --smoke)",
    )
    p.add_argument("--budget-s", type=float, default=450.0, help="wall-clock budget for all stages (seconds)")
    p.add_argument("--batch", type=int, default=32, help="clips per step for the 160 px benchmarks")
    p.add_argument("--size", type=int, default=160, help="frame size of the main benchmarks (px)")
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--iters", type=int, default=10, help="timed rounds per benchmark")
    p.add_argument("--stages", nargs="+", default=None, help="run only these stages (names as in the docstring)")
    p.add_argument("--in-process", action="store_true", help="run benchmark stages in this process (no timeout)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads on the CPU (all stages)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available (use --device cpu --smoke to check the script)")
    if args.out is None:  # smoke runs check the script: keep them out of the results that RESULTS.md shows
        args.out = (
            Path(tempfile.mkdtemp(prefix="gpu_check_smoke_"))
            if args.smoke
            else (REPO_ROOT / "benchmarks" / "results" / f"{args.device}_check")
        )
    return args


# ---- stage 1: correctness ----------------------------------------------------------------------------------------
def _logits_and_grads(model, video, audio, labels) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad(set_to_none=True)
    logits = model(video, audio)
    cross_entropy(logits, labels).backward()
    grads = {n: p.grad.detach().float().cpu() for n, p in model.adapter_named_parameters() if p.grad is not None}
    return logits.detach().float().cpu(), grads


def correctness(device: torch.device, seed: int = 0) -> dict[str, Any]:
    """CUDA (or CPU, in smoke mode) against a CPU fp32 reference on the tiny pair."""
    frames, size = 4, 32
    ref_model = build_model(SPECS["tiny"], size, frames, device="cpu", seed=seed).eval()
    randomise(ref_model, seed)
    video, audio, labels = make_batch(ref_model, 2, frames, "cpu", seed=seed)
    ref_logits, ref_grads = _logits_and_grads(ref_model, video, audio, labels)
    sensitivity = _prompt_sensitivity(ref_model, video, audio, ref_logits)

    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        model = copy.deepcopy(ref_model).to(device)
        v, a, y = video.to(device), audio.to(device), labels.to(device)
        logits, grads = _logits_and_grads(model, v, a, y)
        with torch.no_grad():
            naive = NaiveMMADFER(model)(v, a).float().cpu()
            with torch.autocast(device.type, dtype=torch.bfloat16):
                bf16 = model(v, a).float().cpu()
            half = copy.deepcopy(ref_model).to(device).cast_backbones(torch.bfloat16)  # bf16 stream, fp32 adapters
            with torch.autocast(device.type, dtype=torch.bfloat16):
                bf16_weights = half(v, a).float().cpu()
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32

    scale = max(1.0, ref_logits.abs().max().item())
    grad_err = max(((grads[n] - g).abs().max() / g.abs().max().clamp_min(1e-12)).item() for n, g in ref_grads.items())
    checks = {
        "fp32_logits_max_abs_diff": ((logits - ref_logits).abs().max().item(), FP32_TOL),
        "fp32_grads_max_rel_diff": (grad_err, GRAD_TOL),
        "naive_vs_ours_max_abs_diff": ((naive - logits).abs().max().item(), FP32_TOL),
        "bf16_logits_max_diff_over_scale": ((bf16 - ref_logits).abs().max().item() / scale, BF16_TOL),
        "bf16_weights_logits_max_diff_over_scale": ((bf16_weights - ref_logits).abs().max().item() / scale, BF16_TOL),
    }
    out: dict[str, Any] = {k: {"value": v, "tol": t, "ok": v <= t} for k, (v, t) in checks.items()}
    # the comparisons above mean something only if a small change of an adapter moves the logits well past them
    out["sensitivity_to_video_prompts"] = {
        "value": sensitivity,
        "min": 10 * FP32_TOL,
        "ok": sensitivity >= 10 * FP32_TOL,
    }
    out["grads_compared"] = len(ref_grads)
    out["grads_missing_on_device"] = sorted(set(ref_grads) - set(grads))
    out["loss_decreases"] = _loss_decreases(model, v, a, y)
    out["passed"] = (
        all(c["ok"] for c in out.values() if isinstance(c, dict))
        and not out["grads_missing_on_device"]
        and out["loss_decreases"]
    )
    return out


@torch.no_grad()
def _prompt_sensitivity(model, video, audio, logits: torch.Tensor) -> float:
    """Largest logit change when the video prompt tokens get noise of std 0.1 (restored afterwards)."""
    prompts = model.prompts["video"].prompts
    saved = prompts.clone()
    prompts.add_(torch.randn(prompts.shape, generator=torch.Generator().manual_seed(1)) * 0.1)
    moved = (model(video, audio).float() - logits).abs().max().item()
    prompts.copy_(saved)
    return moved


def _loss_decreases(model, video, audio, labels, steps: int = 5) -> bool:
    model.train()
    opt = torch.optim.AdamW(list(model.adapter_parameters()), lr=1e-2)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = cross_entropy(model(video, audio), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses[-1] < losses[0]


# ---- stages 2-9 --------------------------------------------------------------------------------------------------
OTHER_SCRIPTS = {"profile": profile_step, "profile_bf16_weights": profile_step, "gate": bench_gate}
"""Stages run by another script than ``bench_model`` (their argv follows that script's options)."""


def _bench_argv(args: argparse.Namespace, name: str, extra: list[str]) -> list[str]:
    if name in OTHER_SCRIPTS:
        common = ["--device", args.device, "--frames", str(args.frames), "--quiet"]
        if args.smoke:
            rounds = ["--steps", "1"] if OTHER_SCRIPTS[name] is profile_step else ["--iters", "2"]
            common = [
                "--device",
                args.device,
                "--backbone",
                "tiny",
                "--frames",
                "2",
                *rounds,
                "--batch",
                "2",
                "--quiet",
            ]
    else:
        common = ["--device", args.device, "--frames", str(args.frames), "--iters", str(args.iters), "--quiet"]
        if args.smoke:
            common = [
                "--device",
                args.device,
                "--backbone",
                "tiny",
                "--frames",
                "2",
                "--iters",
                "1",
                "--warmup",
                "1",
                "--batch",
                "2",
                "--quiet",
            ]
    if args.threads:
        common += ["--threads", str(args.threads)]
    return [*common, *extra, "--out", str(args.out / f"{name}.json")]


def _stage_specs(args: argparse.Namespace) -> list[tuple[str, float, list[str]]]:
    """(name, estimated seconds on an H100, argv) of the benchmark stages, in priority order; the argv goes to
    ``bench_model`` except for the stages named in ``OTHER_SCRIPTS``."""
    size = "32" if args.smoke else str(args.size)
    batch = [] if args.smoke else ["--batch", str(args.batch)]
    half = [] if args.smoke else ["--batch", str(max(1, args.batch // 2))]
    other_sizes = ["32"] if args.smoke else ["112", "224"]
    quick_compile = ["--compile-backend", "aot_eager"] if args.smoke else []  # inductor takes minutes on a CPU
    return [
        ("eager", 45, ["--dtype", "bf16", "--sizes", size, *batch]),
        ("bf16_weights", 40, ["--dtype", "bf16", "--backbone-dtype", "bf16", "--sizes", size, *batch]),
        (
            "regional",
            50,
            [
                "--dtype",
                "bf16",
                "--backbone-dtype",
                "bf16",
                "--sizes",
                size,
                *batch,
                "--variants",
                "ours",
                "floor",
                "regional",
                "--warmup",
                "5",
                *quick_compile,
            ],
        ),
        ("profile", 40, ["--dtype", "bf16", "--size", size, *batch]),
        ("profile_bf16_weights", 40, ["--dtype", "bf16", "--backbone-dtype", "bf16", "--size", size, *batch]),
        ("gate", 15, ["--dtype", "bf16", "--size", size, *batch]),
        ("sizes", 50, ["--dtype", "bf16", "--sizes", *other_sizes, *batch]),
        (
            "max_batch",
            90,
            [
                "--dtype",
                "bf16",
                "--sizes",
                size,
                "--mode",
                "train",
                "--variants",
                "ours",
                "--iters",
                "1",
                "--warmup",
                "1",
                "--batch",
                "2",
                "--find-max-batch",
            ],
        ),
        (
            "compiled",
            180,
            ["--dtype", "bf16", "--sizes", size, *batch, "--compile", "--variants", "ours", "floor", "--warmup", "3"],
        ),
        (
            "bf16_weights_compiled",
            180,
            [
                "--dtype",
                "bf16",
                "--backbone-dtype",
                "bf16",
                "--sizes",
                size,
                *batch,
                "--compile",
                "--variants",
                "ours",
                "floor",
                "--warmup",
                "3",
            ],
        ),
        (
            "checkpointing",
            30,
            [
                "--dtype",
                "bf16",
                "--sizes",
                size,
                *batch,
                "--mode",
                "train",
                "--checkpointing",
                "--variants",
                "ours",
                "floor",
            ],
        ),
        ("fp32", 40, ["--dtype", "fp32", "--sizes", size, *half, "--variants", "ours", "floor", "naive"]),
        (
            "cudagraphs",
            150,
            [
                "--dtype",
                "bf16",
                "--sizes",
                size,
                *batch,
                "--compile",
                "--compile-mode",
                "reduce-overhead",
                "--variants",
                "ours",
                "--warmup",
                "3",
            ],
        ),
    ]


def matmul_peak(device: torch.device, smoke: bool = False, n: int = 8192, iters: int = 10) -> dict[str, Any]:
    """Median TFLOP/s of an n x n x n bf16 (CPU: fp32) matrix product on random data, after three warm-ups."""
    n = 256 if smoke else n
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    g = torch.Generator(device=device).manual_seed(0)
    a, b = (torch.randn(n, n, generator=g, device=device, dtype=dtype) for _ in range(2))
    timer = bench_model.StepTimer(device)
    for _ in range(3):
        a @ b
    times = sorted(timer.time(lambda: a @ b)[0] for _ in range(iters))
    ms = times[len(times) // 2]
    return {"n": n, "dtype": str(dtype).removeprefix("torch."), "median_ms": ms, "tflops": 2 * n**3 / (ms / 1e3) / 1e12}


def patch_conv(device: torch.device, spec: str, size: int, frames: int, batch: int, iters: int) -> dict[str, Any]:
    """Time the video patch convolution on one batch of frames: NCHW input vs channels-last input."""
    model = build_model(SPECS[spec], size, frames, device=device)
    conv = model.backbones["video"].patch_embed.proj
    x = torch.randn(batch * frames, conv.in_channels, size, size, device=device)
    out: dict[str, Any] = {"size": size, "frames_in_batch": batch * frames}
    for layout, fmt in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
        xi = x.contiguous(memory_format=fmt)
        timer = bench_model.StepTimer(device)

        def step(xi=xi) -> None:
            with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                conv(xi)

        for _ in range(3):
            step()
        out[f"{layout}_ms"] = sorted(timer.time(step)[0] for _ in range(iters))[iters // 2]
    return out


def _run_isolated(script, argv: list[str], timeout: float) -> None:
    cmd = [sys.executable, str(Path(script.__file__)), *argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True, env=env, cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return with_threads(args.threads, lambda: _run(args))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    isolate = device.type == "cuda" and not args.in_process
    summary: dict[str, Any] = {
        "schema": SCHEMA,
        "benchmark": "gpu_check",
        "env": collect_env(device),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "stages": {},
    }

    def wanted(name: str) -> bool:
        return args.stages is None or name in args.stages

    def run(name: str, estimate: float, fn: Callable[[float], Any]) -> None:
        left = args.budget_s - (time.monotonic() - t0)
        if not wanted(name):
            return
        if not args.smoke and left < estimate:
            summary["stages"][name] = {"status": "skipped", "reason": f"{left:.0f} s left, needs ~{estimate:.0f} s"}
            return
        start = time.monotonic()
        logger.info("stage %s (~%.0f s, %.0f s left)", name, estimate, left)
        try:
            result = fn(left)
            summary["stages"][name] = {"status": "ok", "seconds": time.monotonic() - start}
            if result is not None:
                summary["stages"][name]["result"] = result
        except Exception as err:  # a failed stage is recorded; the others still run
            summary["stages"][name] = {
                "status": "failed",
                "seconds": time.monotonic() - start,
                "error": f"{type(err).__name__}: {err}"[-3000:],
                "traceback": traceback.format_exc()[-3000:],
            }
        write_json(args.out / "summary.json", summary)

    run("correctness", 30, lambda left: correctness(device))
    run("peak", 10, lambda left: matmul_peak(device, smoke=args.smoke))
    for name, estimate, extra in _stage_specs(args):
        cuda_only = name in ("max_batch", "cudagraphs", "compiled", "bf16_weights_compiled")
        if device.type != "cuda" and cuda_only:
            summary["stages"][name] = {"status": "skipped", "reason": "needs CUDA"}
            continue
        argv_ = _bench_argv(args, name, extra)
        script = OTHER_SCRIPTS.get(name, bench_model)
        if isolate:
            cap = STAGE_TIMEOUT_FACTOR * estimate
            run(
                name,
                estimate,
                lambda left, a=argv_, cap=cap, sc=script: _run_isolated(sc, a, timeout=max(10.0, min(cap, left - 5))),
            )
        else:
            run(name, estimate, lambda left, a=argv_, sc=script: sc.main(a) and None)
    if device.type == "cuda" or args.smoke:
        size, frames = (32, 2) if args.smoke else (args.size, args.frames)
        spec, batch, iters = ("tiny", 2, 3) if args.smoke else ("vitb", args.batch, 20)
        run("patch_conv", 15, lambda left: patch_conv(device, spec, size, frames, batch, iters))
    summary["total_seconds"] = time.monotonic() - t0
    correct = summary["stages"].get("correctness", {})
    summary["passed"] = correct.get("status") == "ok" and correct["result"]["passed"]
    write_json(args.out / "summary.json", summary)
    print(
        json.dumps(
            {k: {kk: vv for kk, vv in v.items() if kk != "traceback"} for k, v in summary["stages"].items()},
            indent=1,
            default=str,
        )[:6000]
    )
    print(
        f"total {summary['total_seconds']:.0f} s; correctness {'PASSED' if summary['passed'] else 'FAILED'}; "
        f"files in {args.out}"
    )
    return summary


if __name__ == "__main__":
    summary = main()
    sys.exit(0 if summary["passed"] else 1)
