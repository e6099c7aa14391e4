"""Speed of the fusion kinds on the same backbones: MBT's attention bottleneck against the mean bottleneck and none.

One model per preset (default ``mma-dfer-fusion-mbt`` = ``attention-bottleneck``, ``mma-dfer`` =
``mean-bottleneck``, ``mma-dfer-fusion-none`` = no fusion), each on its own copy of the same random-weight pair
(``specs.build_model`` with one seed; checked equal), timed in interleaved rounds (``timing.measure``): a train step
(forward, cross-entropy, backward, fused AdamW on the adapter parameters) and an inference forward (``no_grad``).

Reported per mode and preset: clips/s, step time, trainable parameters, forward GFLOP per clip counted by
``torch.utils.flop_counter`` (math attention, one clip), and per preset ``over_reference`` = median over rounds of
t_preset / t_reference (``--reference``, default ``mma-dfer``) with its min..max, ``over_none`` the same against
the no-fusion preset, and the FLOP ratio beside them. Ratios are on process CPU time on the CPU (``timing.py``).

Default: two ViT-S/16 (``small``) at 112 px x 16 frames, batch 1; ``--vit-b`` the ViT-B/16 pair; ``--tiny`` a
seconds-long smoke run. Example::

    python benchmarks/bench_fusion_kinds.py --vit-b --threads 1 --out benchmarks/results/cpu_fusion_kinds_vitb_112.json
"""

from __future__ import annotations

import argparse
import logging
import math
import os
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
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import mmadapt  # noqa: E402
from benchmarks._args import add_run_options, check_run_options, finish, require_counts  # noqa: E402
from benchmarks.baselines import cross_entropy  # noqa: E402
from benchmarks.envinfo import SCHEMA, collect_env  # noqa: E402
from benchmarks.specs import SPECS, build_model, make_batch  # noqa: E402
from benchmarks.timing import Measurement, StepTimer, measure, with_threads  # noqa: E402
from mmadapt.adapters.kinds import kind_of  # noqa: E402

logger = logging.getLogger(__name__)

PRESETS = ("mma-dfer-fusion-mbt", "mma-dfer", "mma-dfer-fusion-none")
MODES = ("train", "inference")
PAIRS = {
    "default": {"backbone": "small", "size": 112, "frames": 16, "rounds": 6, "warmup": 1},
    "vit_b": {"backbone": "vitb", "size": 112, "frames": 16, "rounds": 4, "warmup": 1},
    "tiny": {"backbone": "tiny", "size": 32, "frames": 2, "rounds": 2, "warmup": 1},
}
"""Settings of the default run, ``--vit-b`` and ``--tiny``; any given on the command line win."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--vit-b", action="store_true", help=f"the ViT-B/16 pair: {PAIRS['vit_b']}")
    which.add_argument("--tiny", action="store_true", help=f"smoke run: {PAIRS['tiny']}")
    p.add_argument("--size", type=int, default=None, help="video frame side in px (default 112)")
    p.add_argument("--frames", type=int, default=None, help="frames per clip (default 16)")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds, one step of each preset per round")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps per preset and mode")
    p.add_argument("--mode", default="both", choices=[*MODES, "both"])
    p.add_argument("--presets", nargs="+", default=list(PRESETS), help="presets to time (registered names)")
    p.add_argument("--reference", default="mma-dfer", help="preset the ratios divide by (one of --presets)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text kept in the record (e.g. 'shared machine, 2 cores')")
    args = p.parse_args(argv)
    check_run_options(p, args)
    defaults = PAIRS["vit_b" if args.vit_b else "tiny" if args.tiny else "default"]
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    require_counts(p, args, positive=("batch", "size", "frames", "rounds"), nonnegative=("warmup",))
    known = set(mmadapt.list_presets())
    for name in args.presets:
        if name not in known:
            p.error(f"--presets: unknown preset {name!r} (see mmadapt.list_presets())")
    if len(set(args.presets)) != len(args.presets):
        p.error(f"--presets: a preset is named twice in {args.presets}")
    if args.reference not in args.presets:
        p.error(f"--reference {args.reference!r} is not one of --presets {args.presets}")
    return args


def fusion_kind(model: mmadapt.MultimodalAdapterModel) -> str:
    """The registered fusion kind of ``model``'s config, 'none' without fusion."""
    fusion = model.config.fusion
    return "none" if fusion is None else kind_of(fusion).name


def no_fusion_preset(models: dict[str, mmadapt.MultimodalAdapterModel]) -> str | None:
    return next((name for name, m in models.items() if m.config.fusion is None), None)


def forward_flops(model: torch.nn.Module, video: torch.Tensor, audio: torch.Tensor) -> int:
    """FLOPs of one forward (math attention: countable matrix products). Grad mode stays on: the counter's module
    tracker fails on MBT's fusion tokens under ``no_grad`` (torch 2.14); no backward runs, so only forward counts."""
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        model(video, audio)
    return counter.get_total_flops()


def check_same_backbones(models: dict[str, mmadapt.MultimodalAdapterModel]) -> None:
    """Every model runs bit-identical backbones: only the fusion differs."""
    first, *rest = models.items()
    for name, model in rest:
        for stream, backbone in first[1].backbones.items():
            theirs = dict(model.backbones[stream].named_parameters())
            for pname, p in backbone.named_parameters():
                if not torch.equal(p, theirs[pname]):
                    raise RuntimeError(f"{name} and {first[0]} differ in backbone {stream} parameter {pname}")


def build_steps(
    models: dict[str, mmadapt.MultimodalAdapterModel], batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
) -> dict[str, dict[str, Callable[[], None]]]:
    """``{preset: {mode: step}}`` over one batch shared by all presets."""
    video, audio, labels = batch
    steps = {}
    for name, model in models.items():
        opt = torch.optim.AdamW(list(model.adapter_parameters()), lr=1e-4, fused=True)

        def train(model=model, opt=opt) -> None:
            opt.zero_grad(set_to_none=True)
            cross_entropy(model(video, audio), labels).backward()
            opt.step()

        def inference(model=model) -> None:
            with torch.no_grad():
                model(video, audio)

        steps[name] = {"train": train, "inference": inference}
    return steps


def _paired(a: list[float], b: list[float]) -> list[float]:
    """Per-round a / b: the steps of one round ran back to back, so slow drift of the machine cancels."""
    return [x / y for x, y in zip(a, b, strict=True)]


def _ratio(meas: dict[str, Measurement], name: str, other: str) -> dict[str, Any]:
    per_round = _paired(meas[name].ratio_times_ms, meas[other].ratio_times_ms)
    return {
        "median": statistics.median(per_round),
        "min_max": [min(per_round), max(per_round)],
        "unpaired": statistics.median(meas[name].ratio_times_ms) / statistics.median(meas[other].ratio_times_ms),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if not args.quiet else logging.WARNING, format="%(message)s")
    return with_threads(args.threads, lambda: _run(args))


def _run(args: argparse.Namespace) -> dict[str, Any]:
    load_start = os.getloadavg()[0]  # with the end value in the record: how busy the (shared) machine was
    device = torch.device(args.device)
    spec = SPECS[args.backbone]
    models = {
        name: build_model(spec, args.size, args.frames, device=device, seed=args.seed, preset=name)
        for name in args.presets
    }
    check_same_backbones(models)
    batch = make_batch(models[args.reference], args.batch, args.frames, device, seed=args.seed)
    video, audio, _ = batch
    one = (video[:1], audio[:1])
    none = no_fusion_preset(models)
    presets = {
        name: {
            "fusion_kind": fusion_kind(m),
            "trainable_params": sum(p.numel() for p in m.adapter_parameters()),
            "gflop_forward_per_clip": forward_flops(m.eval(), *one) / 1e9,
        }
        for name, m in models.items()
    }
    steps = build_steps(models, batch)
    timer = StepTimer(device)
    rows, ratios = [], []
    for mode in MODES if args.mode == "both" else (args.mode,):
        for m in models.values():
            m.train(mode == "train")
        logger.info("%s: timing %s", mode, ", ".join(models))
        meas = measure({n: s[mode] for n, s in steps.items()}, args.warmup, args.rounds, timer)
        for name, m in meas.items():
            rows.append(
                {
                    "mode": mode,
                    "preset": name,
                    "fusion_kind": presets[name]["fusion_kind"],
                    "step_ms_median": m.median_ms,
                    "step_spread": m.spread,
                    "cpu_ms_median": m.cpu_median_ms,
                    "clips_per_s": args.batch / (m.median_ms / 1e3),
                    "peak_mem_mb": m.peak_mem_mb,
                    "mem_kind": m.mem_kind,
                    "times_ms": m.times_ms,
                    "cpu_times_ms": m.cpu_times_ms,
                }
            )
            ratio: dict[str, Any] = {
                "mode": mode,
                "preset": name,
                "fusion_kind": presets[name]["fusion_kind"],
                "clock": "process_cpu" if m.cpu_times_ms is not None else "wall",
                "over_reference": _ratio(meas, name, args.reference),
                "flops_over_reference": presets[name]["gflop_forward_per_clip"]
                / presets[args.reference]["gflop_forward_per_clip"],
            }
            if none is not None:
                ratio["over_none"] = _ratio(meas, name, none)
            ratios.append(ratio)
    result = {
        "schema": SCHEMA,
        "benchmark": "fusion_kinds",
        "env": collect_env(device),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "load_average_1m": {"start": load_start, "end": os.getloadavg()[0]},
        "reference": args.reference,
        "no_fusion": none,
        "presets": presets,
        "results": rows,
        "ratios": ratios,
    }
    for row in rows:
        if not (math.isfinite(row["step_ms_median"]) and row["step_ms_median"] > 0):
            raise RuntimeError(f"bench_fusion_kinds timed {row['step_ms_median']} ms for {row['preset']} {row['mode']}")
    return finish(result, args, format_table)


def format_table(result: dict[str, Any]) -> str:
    a = result["args"]
    lines = [
        f"{result['env']['device_name']} | {a['backbone']} pair {a['size']} px | batch {a['batch']} x {a['frames']} "
        f"frames | {a['rounds']} rounds | ratios over {result['reference']}",
        f"{'mode':<9} {'preset':<22} {'kind':<21} {'clips/s':>8} {'step ms':>9} {'cpu ms':>9} {'spread':>7} "
        f"{'/ref':>6} {'/none':>6} {'GFLOP':>7}",
    ]
    ratios = {(q["mode"], q["preset"]): q for q in result["ratios"]}
    for r in result["results"]:
        q = ratios[r["mode"], r["preset"]]
        over_none = q.get("over_none", {}).get("median", math.nan)
        lines.append(
            f"{r['mode']:<9} {r['preset']:<22} {r['fusion_kind']:<21} {r['clips_per_s']:>8.3f} "
            f"{r['step_ms_median']:>9.1f} {r['cpu_ms_median'] or math.nan:>9.1f} {100 * r['step_spread']:>6.1f}% "
            f"{q['over_reference']['median']:>6.3f} {over_none:>6.3f} "
            f"{result['presets'][r['preset']]['gflop_forward_per_clip']:>7.1f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
