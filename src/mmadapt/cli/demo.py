"""Run MMA-DFER end to end on an embedded default, offline: write a synthetic audio-visual expression dataset
(real mp4 files), pretrain two small unimodal ViTs briefly, freeze them, train the adapters, print UAR/WAR per
epoch, save the adapter (with its backbones and experiment.yaml, so `mmadapt predict --adapter RUN` works on the run
folder alone) and the confusion matrix, and predict a held-out mp4. ``--ablations`` instead runs a study
(``mmadapt study --synthetic expressions``, under OUT/ablations): mma-dfer and the paper's Table-4 variants, each
trained with each of ``--seeds`` (default: ``--seed``) on the same frozen backbones, compared seed by seed."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from .._adapter_files import CONFIG_NAME
from ._common import add_set_argument

HELP = "offline end-to-end demo on a synthetic audio-visual dataset (no download)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..demo.config import DemoConfig

    d = DemoConfig()
    p.add_argument("--out", default=d.out_dir, help="folder for the dataset, runs, adapters and results")
    p.add_argument(
        "--ablations",
        action="store_true",
        help="run a study of mma-dfer against -no-fusion, -no-temporal and -no-prompts on the same frozen backbones "
        "(OUT/ablations; a rerun resumes it) and print the comparison",
    )
    p.add_argument("--epochs", type=int, default=d.epochs, help="adapter training epochs per preset")
    p.add_argument("--n-per-class", type=int, default=d.n_per_class, help="synthetic clips per class")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the data, the backbones and training")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="run the whole demo once per seed (own data, pretraining, training; under OUT/seed_<k>) and "
        "print each preset's mean +- std UAR/WAR; with --ablations: the study's training seeds (same data and "
        "backbones, paired differences)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_set_argument(p, "any other demo setting (a DemoConfig field), e.g. --set pretrain_steps=100 --set img_size=32")


def run(args: argparse.Namespace) -> int:
    import logging

    from ..config_base import apply_overrides
    from ..demo.driver import DEMO_ABLATIONS, DemoConfig, run_demo
    from ._common import check_output_dir

    check_output_dir(Path(args.out))

    logging.getLogger("mmadapt").setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("mmadapt.recipe.checkpoint").setLevel(max(logging.getLogger().level, logging.WARNING))
    presets = DEMO_ABLATIONS if args.ablations else ("mma-dfer",)
    cfg = DemoConfig(
        out_dir=args.out,
        epochs=args.epochs,
        n_per_class=args.n_per_class,
        seed=args.seed,
        presets=presets,
        threads=args.threads,
    )
    cfg = apply_overrides(cfg, args.overrides)
    if args.ablations:
        return _run_ablations(cfg, args)
    if args.seeds:
        return _run_seeds(cfg, args)
    result = run_demo(cfg, progress=not args.no_progress)
    print(
        f"\nunimodal pretraining, held-out MSE (1.0 = mean predictor): video {result.pretraining['video_mse']:.3f}, "
        f"audio {result.pretraining['audio_mse']:.3f}"
    )
    print(f"{'preset':28s} {'UAR':>6s} {'WAR':>6s}")
    for preset, m in result.metrics.items():
        print(f"{preset:28s} {m['uar']:6.3f} {m['war']:6.3f}")
    print(f"\npredict {result.prediction['video']} (true: {result.prediction['true']}):")
    for rank, (name, probability) in enumerate(result.prediction["top"], start=1):
        print(f"  {rank}. {name:<24s} {probability:.4f}")
    print(
        f"\nadapters, backbones, metrics and confusion matrices under {result.out_dir / 'runs'}; "
        f"total {result.seconds:.0f} s"
    )
    run_dir, clip = shlex.quote(result.prediction["adapter"]), shlex.quote(result.prediction["video"])
    print("next steps, on a run folder alone (it holds its backbones and experiment.yaml):")
    print(f"  mmadapt predict --adapter {run_dir} {clip}")
    print(f"  mmadapt eval --adapter {run_dir} --manifest {shlex.quote(str(result.test_manifest))}")
    print(_summary_line(result))
    return 0


def _summary_line(result) -> str:
    """The demo's result in one line: what was trained, how well, and where it is (the last line printed)."""
    preset = next(iter(result.metrics))
    m = result.metrics[preset]
    run_dir = result.run_dirs.get(preset)
    params = ""
    if run_dir is not None and (Path(run_dir) / "adapter" / CONFIG_NAME).is_file():
        record = json.loads((Path(run_dir) / "adapter" / CONFIG_NAME).read_text(encoding="utf-8"))
        params = f" ({record['num_parameters']:,} trainable parameters)"
    return (
        f"demo: trained {preset} adapters{params} over two frozen ViTs pretrained here on synthetic clips; "
        f"test UAR {m['uar']:.3f}, WAR {m['war']:.3f}; run folder {run_dir or result.out_dir} "
        f"({result.seconds:.0f} s)"
    )


def _run_seeds(cfg, args: argparse.Namespace) -> int:
    from ..demo.driver import run_seed_sweep

    sweep = run_seed_sweep(cfg, args.seeds, progress=not args.no_progress)
    seeds = " ".join(f"{s:>6d}" for s in sweep.seeds)
    print(f"\n{'preset':28s} {'UAR mean':>9s} {'std':>6s} {'WAR mean':>9s} {'std':>6s}   UAR per seed {seeds}")
    for preset, row in sweep.summary.items():
        per_seed = " ".join(f"{u:6.3f}" for u in row["uar"])
        print(
            f"{preset:28s} {row['uar_mean']:9.3f} {row['uar_std']:6.3f} {row['war_mean']:9.3f} "
            f"{row['war_std']:6.3f}   {' ' * len('UAR per seed')} {per_seed}"
        )
    total = sum(r.seconds for r in sweep.runs.values())
    print(f"\nper-seed results under {args.out}/seed_<k>, summary in {args.out}/seed_sweep.json; total {total:.0f} s")
    return 0


def _run_ablations(cfg, args: argparse.Namespace) -> int:
    """A thin call of the study runner on the demo's scene and sizes (the data and pretraining seed is --seed)."""
    from ..study.config import StudyConfig
    from ..study.runner import run_study
    from .study import print_summary

    study = StudyConfig(
        out_dir=str(Path(args.out) / "ablations"),
        presets=cfg.presets,
        seeds=tuple(args.seeds or [args.seed]),
        synthetic="expressions",
        epochs=args.epochs,
        threads=args.threads,
        demo=cfg,
    )
    result = run_study(study, progress=not args.no_progress, restart_changed=True)  # the demo never refuses its folder
    print()
    print_summary(result.summary, result.out_dir)
    return 0
