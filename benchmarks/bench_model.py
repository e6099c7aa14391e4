"""Train-step and inference speed of the ``mma-dfer`` preset against the floor and the naive loop.

Three workloads run on the same tensors, interleaved round by round (``benchmarks/timing.py``):

* ``ours``  -- ``wrap_encoders(audio_vit, video_vit, "mma-dfer")``; a train step is forward, cross-entropy,
  backward and an AdamW step on the adapter parameters;
* ``floor`` -- both frozen encoders alone on the same token counts (``baselines.BackboneFloor``): forward for
  inference, forward + backward to the inputs of the block stacks for training;
* ``naive`` -- the same model as a plain research-code loop (``baselines.NaiveMMADFER``), always eager;
* ``nofusion`` -- ours without the fusion bottlenecks (prompts, progressive updates, lockstep runner and head
  kept) on its own copy of the backbones: the floor's token counts plus mmadapt's machinery, so
  ``lockstep_overhead`` = t_nofusion / t_floor - 1 is the cost of hooks and lockstep alone;
* ``regional`` -- ours with only its fusion steps compiled (``model.compile_fusion()``), on its own copy of the
  backbones, never compiled further: ``regional_speedup`` = t_ours / t_regional in an eager run. Opt-in
  (``--variants``), as it compiles.

Reported per frame size and mode: clips/s, step time, peak memory, analytic GFLOP per clip (``flops.py``),
achieved TFLOP/s and MFU (against ``--peak-tflops``, by default the device's known dense bf16/fp32 peak; n/a on
CPUs), and the ratios (on process CPU time when run on the CPU, see ``timing.py``):
``overhead_over_floor`` = t_ours / t_floor - 1, ``excess_over_flops`` = the same after
removing the adapters' own analytic FLOPs (the cost of hooks, lockstep and memory traffic), and
``speedup_over_naive`` = t_naive / t_ours.

Example: ``python benchmarks/bench_model.py --device cuda --dtype bf16 --sizes 160 --batch 32 --out r.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402

from benchmarks._args import add_run_options, check_run_options, finish  # noqa: E402
from benchmarks.baselines import BackboneFloor, NaiveMMADFER, cross_entropy, floor_loss  # noqa: E402
from benchmarks.envinfo import SCHEMA, collect_env, default_peak_tflops  # noqa: E402
from benchmarks.flops import FlopBreakdown, model_flops  # noqa: E402
from benchmarks.report import precision  # noqa: E402
from benchmarks.specs import BACKBONE_DTYPES, SPECS, build_model, make_batch  # noqa: E402
from benchmarks.timing import StepTimer, measure, with_threads  # noqa: E402

logger = logging.getLogger(__name__)

VARIANTS = ("ours", "floor", "naive", "nofusion", "regional")
DEFAULT_VARIANTS = ("ours", "floor", "naive", "nofusion")
EAGER_VARIANTS = ("naive", "regional")
"""Never wrapped in a whole-model torch.compile."""
MODES = ("train", "inference")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(p)
    p.add_argument(
        "--dtype",
        default="fp32",
        choices=["fp32", "bf16"],
        help="bf16 = autocast to bfloat16 (weights as --backbone-dtype says; adapters fp32)",
    )
    p.add_argument(
        "--backbone-dtype",
        default="fp32",
        choices=sorted(BACKBONE_DTYPES),
        help="frozen backbones' weight dtype: bf16 makes the residual stream bf16 (the naive loop, "
        "written for one dtype, is then left out)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile ours and the floor (naive stays eager)")
    p.add_argument(
        "--compile-mode",
        default=None,
        help="torch.compile mode, e.g. max-autotune-no-cudagraphs or reduce-overhead (CUDA graphs)",
    )
    p.add_argument(
        "--compile-backend",
        default="inductor",
        help="torch.compile backend for --compile and the regional variant (aot_eager: quick CPU checks)",
    )
    p.add_argument("--checkpointing", action="store_true", help="recompute the frozen blocks in backward (all three)")
    p.add_argument("--sizes", type=int, nargs="+", default=[160], help="video frame sizes in px")
    p.add_argument("--frames", type=int, default=16, help="frames per clip")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per workload (compilation happens here)")
    p.add_argument("--iters", type=int, default=10, help="timed rounds (one step of each workload per round)")
    p.add_argument("--mode", default="both", choices=["train", "inference", "both"])
    p.add_argument("--backbone", default="vitb", choices=sorted(SPECS), help="backbone pair (benchmarks/specs.py)")
    p.add_argument(
        "--variants",
        nargs="+",
        default=None,
        choices=VARIANTS,
        help=f"workloads to time (default: {' '.join(VARIANTS)}; without naive for bf16 backbones)",
    )
    p.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help="device peak for MFU (default: the known dense peak of H100/H200/A100 at --dtype)",
    )
    p.add_argument(
        "--find-max-batch",
        action="store_true",
        help="CUDA: largest train-step batch that fits, with and without checkpointing",
    )
    p.add_argument("--max-batch-limit", type=int, default=4096, help="stop the max-batch search here")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    check_run_options(p, args)
    for name in ("batch", "frames", "iters"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    half_backbones = args.backbone_dtype != "fp32"
    if args.variants is None:
        args.variants = [v for v in DEFAULT_VARIANTS if not (half_backbones and v == "naive")]
    elif half_backbones and "naive" in args.variants:
        p.error("--variants naive: the naive loop runs fp32 backbones only; drop it or use --backbone-dtype fp32")
    return args


def _autocast(device: torch.device, dtype: str) -> Callable[[], contextlib.AbstractContextManager]:
    if dtype == "bf16":
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def build_steps(
    model,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    args: argparse.Namespace,
    device: torch.device,
    size: int,
) -> tuple[dict[str, dict[str, Callable[[], None]]], list[torch.nn.Module]]:
    """``{variant: {mode: step}}`` closures over one model, its baselines and one batch; and the modules, whose
    train/eval flag the caller sets per mode."""
    video, audio, labels = batch
    amp = _autocast(device, args.dtype)
    model.set_grad_checkpointing(args.checkpointing)
    floor = BackboneFloor(model, checkpointing=args.checkpointing).to(device)
    naive = NaiveMMADFER(model, checkpointing=args.checkpointing)
    modules: dict[str, torch.nn.Module] = {"ours": model, "floor": floor, "naive": naive}
    if "nofusion" in args.variants:
        nofusion = build_model(
            SPECS[args.backbone], size, args.frames, device, args.seed, backbone_dtype=args.backbone_dtype, fusion=None
        )
        nofusion.set_grad_checkpointing(args.checkpointing)
        modules["nofusion"] = nofusion
    if "regional" in args.variants:
        regional = build_model(
            SPECS[args.backbone], size, args.frames, device, args.seed, backbone_dtype=args.backbone_dtype
        )
        regional.set_grad_checkpointing(args.checkpointing)
        modules["regional"] = regional.compile_fusion(mode=args.compile_mode, backend=args.compile_backend)

    def compiled(module: torch.nn.Module) -> Callable:
        if not args.compile:
            return module
        return torch.compile(module, mode=args.compile_mode, backend=args.compile_backend)

    forwards = {name: module if name in EAGER_VARIANTS else compiled(module) for name, module in modules.items()}
    steps: dict[str, dict[str, Callable[[], None]]] = {}
    for name in args.variants:
        fwd = forwards[name]
        if name == "floor":
            params = floor.trainable()

            def train(fwd=fwd, params=params) -> None:
                for p in params:
                    p.grad = None
                with amp():
                    out = fwd(video, audio)
                floor_loss(out).backward()

        else:
            owner = modules[name] if name in ("nofusion", "regional") else model
            opt = torch.optim.AdamW(list(owner.adapter_parameters()), lr=1e-4, fused=True)

            def train(fwd=fwd, opt=opt) -> None:
                opt.zero_grad(set_to_none=True)
                with amp():
                    logits = fwd(video, audio)
                cross_entropy(logits, labels).backward()
                opt.step()

        def inference(fwd=fwd) -> None:
            with torch.no_grad(), amp():
                fwd(video, audio)

        steps[name] = {"train": train, "inference": inference}
    return steps, list(modules.values())


def _flops_for(fl: FlopBreakdown, variant: str, mode: str) -> int:
    """Analytic FLOPs per clip of ``variant``; ``fl`` is the full model's breakdown."""
    if variant == "floor":
        return fl.backbone_train if mode == "train" else fl.backbone_forward
    if variant == "nofusion":
        head = fl.head_linear + fl.head_attention
        return fl.backbone_train + 3 * head if mode == "train" else fl.backbone_forward + head
    return fl.train if mode == "train" else fl.forward


def bench_size(args: argparse.Namespace, size: int, device: torch.device, peak: float | None) -> dict[str, Any]:
    spec = SPECS[args.backbone]
    model = build_model(spec, size, args.frames, device=device, seed=args.seed, backbone_dtype=args.backbone_dtype)
    fl = model_flops(model, args.frames)
    batch = make_batch(model, args.batch, args.frames, device, seed=args.seed)
    steps, modules = build_steps(model, batch, args, device, size)
    timer = StepTimer(device)
    modes = MODES if args.mode == "both" else (args.mode,)
    rows, ratios = [], []
    for mode in modes:
        for module in modules:
            module.train(mode == "train")
        logger.info("size %d, %s: timing %s", size, mode, ", ".join(steps))
        meas = measure({n: s[mode] for n, s in steps.items()}, args.warmup, args.iters, timer)
        for name, m in meas.items():
            flops = _flops_for(fl, name, mode)
            clips_s = args.batch / (m.median_ms / 1e3)
            achieved = flops * clips_s / 1e12
            rows.append(
                {
                    "size": size,
                    "frames": args.frames,
                    "batch": args.batch,
                    "mode": mode,
                    "variant": name,
                    "compiled": bool(args.compile and name not in EAGER_VARIANTS),
                    "step_ms_median": m.median_ms,
                    "step_ms_mean": m.mean_ms,
                    "step_ms_min": m.min_ms,
                    "step_spread": m.spread,
                    "clips_per_s": clips_s,
                    "cpu_ms_median": m.cpu_median_ms,
                    "cpu_spread": _spread(m.cpu_times_ms) if m.cpu_times_ms else None,
                    "clips_per_cpu_s": args.batch / (m.cpu_median_ms / 1e3) if m.cpu_median_ms else None,
                    "peak_mem_mb": m.peak_mem_mb,
                    "mem_kind": m.mem_kind,
                    "gflop_per_clip": flops / 1e9,
                    "achieved_tflops": achieved,
                    "mfu": achieved / peak if peak else None,
                    "times_ms": m.times_ms,
                    "cpu_times_ms": m.cpu_times_ms,
                }
            )
        ratios.append(_ratios(meas, fl, size, mode))
    del steps, modules, batch, model
    _free(device)
    return {"rows": rows, "ratios": [r for r in ratios if r], "flops": fl.to_dict()}


def _ratios(meas, fl: FlopBreakdown, size: int, mode: str) -> dict[str, Any] | None:
    """Ratios between workloads, on the CPU-time clock where it was recorded (see ``timing.py``)."""
    if "ours" not in meas:
        return None

    def med(name: str) -> float:
        return statistics.median(meas[name].ratio_times_ms)

    def paired(a: str, b: str) -> float:
        return _paired(meas[a].ratio_times_ms, meas[b].ratio_times_ms)

    out: dict[str, Any] = {
        "size": size,
        "mode": mode,
        "clock": "process_cpu" if meas["ours"].cpu_times_ms is not None else "wall",
    }
    if "floor" in meas:
        flop_ratio = _flops_for(fl, "ours", mode) / _flops_for(fl, "floor", mode)
        out["overhead_over_floor"] = med("ours") / med("floor") - 1
        out["overhead_over_floor_paired"] = paired("ours", "floor") - 1
        out["adapter_flop_share"] = flop_ratio - 1
        out["excess_over_flops"] = med("ours") / (med("floor") * flop_ratio) - 1
    if "floor" in meas and "nofusion" in meas:
        out["lockstep_overhead"] = med("nofusion") / med("floor") - 1
        out["lockstep_overhead_paired"] = paired("nofusion", "floor") - 1
    if "regional" in meas:
        out["regional_speedup"] = med("ours") / med("regional")
        out["regional_speedup_paired"] = paired("ours", "regional")
    if "naive" in meas:
        out["speedup_over_naive"] = med("naive") / med("ours")
        out["speedup_over_naive_paired"] = paired("naive", "ours")
    return out


def _spread(times: list[float]) -> float:
    return (max(times) - min(times)) / statistics.median(times)


def _paired(a: list[float], b: list[float]) -> float:
    """Median over rounds of a[r] / b[r]: steps of one round ran back to back, so slow drift cancels."""
    return statistics.median(x / y for x, y in zip(a, b))


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def find_max_batch(args: argparse.Namespace, size: int, device: torch.device) -> dict[str, Any]:
    """Doubling then bisection on the eager train step of ``ours`` until CUDA runs out of memory."""
    model = build_model(
        SPECS[args.backbone], size, args.frames, device=device, seed=args.seed, backbone_dtype=args.backbone_dtype
    ).train()
    amp = _autocast(device, args.dtype)
    opt = torch.optim.AdamW(list(model.adapter_parameters()), lr=1e-4, fused=True)

    def fits(n: int) -> bool:
        ok = True
        try:
            video, audio, labels = make_batch(model, n, args.frames, device)
            for _ in range(2):  # the second step also holds the optimiser state
                opt.zero_grad(set_to_none=True)
                with amp():
                    loss = cross_entropy(model(video, audio), labels)
                loss.backward()
                opt.step()
            torch.cuda.synchronize(device)
            del video, audio, labels, loss
        except torch.OutOfMemoryError:
            ok = False
        opt.zero_grad(set_to_none=True)
        _free(device)
        logger.info("max batch probe %d: %s", n, "fits" if ok else "OOM")
        return ok

    out: dict[str, Any] = {"size": size, "frames": args.frames, "dtype": args.dtype, "limit": args.max_batch_limit}
    for ckpt in (False, True):
        model.set_grad_checkpointing(ckpt)
        lo, hi = search_max_batch(fits, args.max_batch_limit)
        out["checkpointing" if ckpt else "no_checkpointing"] = {"largest_fit": lo, "smallest_oom": hi}
    return out


def search_max_batch(fits: Callable[[int], bool], limit: int, rel_tol: float = 1 / 32) -> tuple[int, int | None]:
    """Doubling from 1, then bisection: (largest batch that fits, smallest that failed or None) with the gap
    between them at most ``rel_tol`` of the former (at least 1). Assumes fitting is monotone in the batch."""
    lo, hi, n = 0, None, 1
    while n <= limit:
        if not fits(n):
            hi = n
            break
        lo, n = n, n * 2
    if hi is not None:
        while hi - lo > max(1, int(lo * rel_tol)):
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo, hi


def format_table(result: dict[str, Any]) -> str:
    head = (
        f"{'size':>5} {'mode':<9} {'variant':<8} {'clips/s':>9} {'step ms':>9} {'cpu ms':>9} {'spread':>7} "
        f"{'mem MiB':>9} {'GFLOP/clip':>10} {'TFLOP/s':>8} {'MFU':>6}"
    )
    a = result["args"]
    lines = [
        f"{result['env']['device_name']} | {a['backbone']} | {precision(a)} | batch {a['batch']} x "
        f"{a['frames']} frames | compile={a['compile']} | checkpointing={a['checkpointing']}",
        head,
    ]
    for r in result["results"]:
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        lines.append(
            f"{r['size']:>5} {r['mode']:<9} {r['variant']:<8} {r['clips_per_s']:>9.2f} {r['step_ms_median']:>9.1f} "
            f"{r['cpu_ms_median'] or float('nan'):>9.1f} {100 * r['step_spread']:>6.1f}% {r['peak_mem_mb']:>9.0f} "
            f"{r['gflop_per_clip']:>10.1f} "
            f"{r['achieved_tflops']:>8.3f} {mfu:>6}"
        )
    for q in result["ratios"]:
        parts = [f"{q['size']:>5} {q['mode']:<9} [{q['clock']}]"]
        if "overhead_over_floor" in q:
            parts.append(
                f"overhead over floor {100 * q['overhead_over_floor']:+.1f}% "
                f"(paired {100 * q['overhead_over_floor_paired']:+.1f}%; "
                f"adapter FLOPs {100 * q['adapter_flop_share']:+.1f}%, "
                f"excess over FLOPs {100 * q['excess_over_flops']:+.1f}%)"
            )
        if "lockstep_overhead" in q:
            parts.append(
                f"lockstep (no-fusion vs floor) {100 * q['lockstep_overhead']:+.1f}% "
                f"(paired {100 * q['lockstep_overhead_paired']:+.1f}%)"
            )
        if "speedup_over_naive" in q:
            parts.append(f"speed-up over naive x{q['speedup_over_naive']:.3f}")
        lines.append("  ".join(parts))
    if "max_batch" in result:
        mb = result["max_batch"]
        lines.append(
            f"max train batch at {mb['size']} px: no checkpointing {mb['no_checkpointing']}, "
            f"checkpointing {mb['checkpointing']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if not args.quiet else logging.WARNING, format="%(message)s")
    return with_threads(args.threads, lambda: _run(args))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    env = collect_env(device)
    peak = args.peak_tflops if args.peak_tflops is not None else default_peak_tflops(env["device_name"], args.dtype)
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "benchmark": "model",
        "env": env,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "peak_tflops": peak,
        "results": [],
        "ratios": [],
        "flops": {},
    }
    for size in args.sizes:
        part = bench_size(args, size, device, peak)
        result["results"] += part["rows"]
        result["ratios"] += part["ratios"]
        result["flops"][str(size)] = part["flops"]
    if args.find_max_batch:
        if device.type != "cuda":
            logger.warning("--find-max-batch needs CUDA; skipped")
        else:
            size = 160 if 160 in args.sizes else args.sizes[0]
            result["max_batch"] = find_max_batch(args, size, device)
    _check_finite(result)
    return finish(result, args, format_table)


def _check_finite(result: dict[str, Any]) -> None:
    for row in result["results"]:
        for key in ("step_ms_median", "clips_per_s", "gflop_per_clip"):
            if not (math.isfinite(row[key]) and row[key] > 0):
                raise RuntimeError(f"bench_model produced {key}={row[key]} for {row['variant']} {row['mode']}")


if __name__ == "__main__":
    main()
