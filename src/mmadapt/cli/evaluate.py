"""Score a trained adapter on a manifest or an annotation list (UAR, WAR, confusion matrix), e.g.
``mmadapt eval --adapter runs/a --manifest data/test.csv``.

The backbones are rebuilt from the experiment config saved beside the adapter (or ``--config``); clips are
read with the official test rule (segment midpoints, resize only) at batch size 1 unless told otherwise.
Writes ``metrics.json`` and ``confusion.{json,png}`` into ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ._common import (
    add_adapter_argument,
    add_check_finite_argument,
    add_data_check_argument,
    add_device_argument,
    add_experiment_arguments,
    flag_overrides,
)

HELP = "evaluate a trained adapter: UAR / WAR / confusion matrix"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_adapter_argument(p)
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--manifest", type=Path, default=None, metavar="FILE", help="CSV/JSONL manifest of mp4 clips")
    data.add_argument(
        "--annotations",
        type=Path,
        default=None,
        metavar="FILE",
        help="official annotation list (frame_dir num_frames label); root/audio from data.source of the config",
    )
    add_experiment_arguments(
        p,
        config_help="experiment config describing the backbones; default: the experiment.yaml beside the adapter",
        examples="data.test_clips=2 data.missing_audio=zeros data.source.root=/data/dfew",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="output folder; default: eval-<data file stem> beside the adapter folder",
    )
    p.add_argument("--batch-size", type=int, default=None, help="clips per batch; default: train.eval_batch_size (1)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes (0 = main process)")
    add_check_finite_argument(p)
    add_data_check_argument(p)
    add_device_argument(p)


def run(args: argparse.Namespace) -> int:
    from .._io import write_json
    from ..checkpoint import read_adapter_config
    from ..errors import ConfigError
    from ..recipe import evaluate, save_confusion_matrix
    from ..recipe.experiment import build_dataset
    from ._common import (
        check_data,
        check_output_dir,
        experiment_for_adapter,
        label_names,
        load_trained_model,
        resolve_device,
    )

    adapter_dir, cfg = experiment_for_adapter(args.adapter, args.config, [*flag_overrides(args), *args.overrides])
    kind = "manifest" if args.manifest is not None else "annotations"
    data_file: Path = args.manifest if args.manifest is not None else args.annotations
    source = dataclasses.replace(cfg.data.source, kind=kind)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, source=source))
    batch_size = args.batch_size if args.batch_size is not None else cfg.train.eval_batch_size
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {batch_size}")
    out = args.out if args.out is not None else adapter_dir.parent / f"eval-{data_file.stem}"
    check_output_dir(out)  # before the clips are scored
    predicts = read_adapter_config(adapter_dir)["config"].get("num_classes")
    check_data(args, cfg, [str(data_file)], predicts if isinstance(predicts, int) else None)  # before the backbones
    dataset = build_dataset(cfg, data_file, "test")
    device = resolve_device(args.device, cfg)
    model = load_trained_model(adapter_dir, cfg, device)
    names = label_names(cfg, model.config.num_classes)
    metrics = evaluate(
        model, dataset, batch_size=batch_size, num_workers=args.num_workers, amp=cfg.train.amp, loss=cfg.train.loss
    )
    write_json(
        out / "metrics.json",
        {
            **metrics.to_dict(),
            "adapter": str(adapter_dir.resolve()),
            kind: str(data_file.resolve()),
            "class_names": names,
            "batch_size": batch_size,
            "test_clips": cfg.data.test_clips,
            "dataset_stats": dict(dataset.stats),
        },
    )
    save_confusion_matrix(metrics.confusion, out / "confusion", names, title=f"{data_file.name}")
    print(f"UAR {metrics.uar:.4f} WAR {metrics.war:.4f} loss {metrics.loss:.4f} ({metrics.num_samples} clips) -> {out}")
    return 0
