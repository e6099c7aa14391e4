"""Train several presets with several seeds on the same frozen backbones and compare them, e.g.
``mmadapt study --presets "mma-dfer*" --seeds 0-9 --synthetic expressions --out study_a`` or, on real data,
``mmadapt study --presets mma-dfer,mma-dfer-no-fusion --seeds 0-4 --config exp.yaml --out study_b``.

Each (preset, seed) cell trains the adapters with that seed (initialisation and batch order); backbones and data are
the same for every cell. The study folder receives ``study.json`` (every number), ``study.md`` (UAR/WAR mean ± std
per preset, the paired difference to the reference with its 95 % interval and a sign test, per-class recall),
``study.png`` and ``cells/<preset>/seed_<k>.json``. Rerunning the command resumes: finished cells are not trained
again, and added presets or seeds extend the grid. See docs/study.md for what the statistics mean.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..study.config import StudyConfig

HELP = "train presets x seeds on the same frozen backbones; mean ± std, paired differences, sign tests"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--presets",
        required=True,
        metavar="LIST",
        help='comma list of preset names or shell patterns, e.g. "mma-dfer*" or mma-dfer,mma-dfer-no-fusion',
    )
    p.add_argument(
        "--reference", default=None, metavar="PRESET", help="preset the others are compared to (default: the first)"
    )
    p.add_argument("--seeds", default="0", metavar="SEEDS", help='training seeds: "0-9", "0,3,5" or a mix ("0-2,7")')
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--synthetic",
        metavar="SCENE",
        help="a demo scene (expressions, speakers): its clips and two small ViTs pretrained on it once, under "
        "OUT/backbones",
    )
    source.add_argument(
        "--config", type=Path, metavar="EXPERIMENT", help="experiment config (.yaml/.json) naming backbones and data"
    )
    p.add_argument(
        "--data", type=Path, default=None, metavar="MANIFEST", help="with --config: the training manifest to use"
    )
    p.add_argument("--epochs", type=int, default=None, help="epochs per cell (default: the experiment's or the demo's)")
    p.add_argument(
        "--demo",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --synthetic: a demo size or schedule (a DemoConfig field), e.g. --demo n_per_class=16 "
        "--demo pretrain_steps=100",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="study folder (an existing study resumes)")
    p.add_argument(
        "--overwrite", action="store_true", help="start afresh in --out (removes only a study's own files there)"
    )
    p.add_argument("--workers", type=int, default=1, help="cells trained at once, each in its own process")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per cell (default: cores / workers)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; the results still print")


def study_config(args: argparse.Namespace) -> StudyConfig:
    """The :class:`~mmadapt.study.StudyConfig` of the command line (every check before any compute)."""
    from .. import presets as preset_registry
    from ..config_base import apply_overrides
    from ..demo.config import DemoConfig
    from ..errors import ConfigError
    from ..study.config import StudyConfig, parse_seeds, resolve_presets

    names = resolve_presets(args.presets, preset_registry.list_presets())
    if args.reference is not None and len(names) < 2:
        raise ConfigError(f"--reference needs at least two presets to compare, got {list(names)}")
    if args.demo and args.synthetic is None:
        raise ConfigError("--demo sets the synthetic scene's sizes: it needs --synthetic")
    if args.data is not None and args.config is None:
        raise ConfigError("--data MANIFEST needs --config EXPERIMENT.yaml (it names the backbones)")
    for flag, value in (("--workers", args.workers), ("--threads", args.threads), ("--epochs", args.epochs)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")
    demo = apply_overrides(DemoConfig(), args.demo)
    return StudyConfig(
        out_dir=str(args.out),
        presets=names,
        reference=args.reference,
        seeds=parse_seeds(args.seeds),
        synthetic=args.synthetic,
        experiment=None if args.config is None else str(args.config),
        data=None if args.data is None else str(args.data),
        epochs=args.epochs,
        workers=args.workers,
        threads=args.threads,
        demo=demo,
    )


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """The study table on stdout, as study.md has it."""
    from ..study.report import TABLE_HEADER, table_rows

    rows = [list(TABLE_HEADER), *table_rows(summary)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"\n{summary['cells']} cells; differences are preset - {summary['reference']}, seed by seed")
    print(f"study.json, study.md, study.png and cells/ under {out}")


def run(args: argparse.Namespace) -> int:
    import logging

    from ..study.runner import run_study
    from ._common import check_output_dir

    study = study_config(args)
    check_output_dir(args.out)
    logging.getLogger("mmadapt.recipe.checkpoint").setLevel(max(logging.getLogger().level, logging.WARNING))
    result = run_study(study, overwrite=args.overwrite, progress=not args.quiet)
    print_summary(result.summary, result.out_dir)
    return 0
