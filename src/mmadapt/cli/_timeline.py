"""``mmadapt predict VIDEO --timeline``: the options and the run of the timeline mode of ``predict``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError

_TIMELINE_ONLY = ("window", "stride", "out", "no_faces", "no_progress")


def add_timeline_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("timeline (one VIDEO, predicted window by window)")
    g.add_argument(
        "--timeline",
        action="store_true",
        help="slide a window over the whole video and write timeline.csv, timeline.json and timeline.png to --out",
    )
    g.add_argument("--window", type=float, default=None, metavar="SECONDS", help="window length (default 2.0)")
    g.add_argument(
        "--stride", type=float, default=None, metavar="SECONDS", help="seconds between window starts (default 0.5)"
    )
    g.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the three files (default: VIDEO-STEM_timeline)",
    )
    g.add_argument("--no-faces", action="store_true", help="feed whole frames instead of the tracked MTCNN face crops")
    g.add_argument("--no-progress", action="store_true", help="no progress bar over the windows")


def check_no_timeline_options(args: argparse.Namespace) -> None:
    given = [f"--{name.replace('_', '-')}" for name in _TIMELINE_ONLY if getattr(args, name) not in (None, False)]
    if given:
        raise ConfigError(f"{', '.join(given)}: {'works' if len(given) == 1 else 'work'} only with --timeline")


def run_timeline(args: argparse.Namespace) -> int:
    from ..timeline import TimelineConfig, predict_timeline, write_timeline
    from ._common import check_output_dir, flag_overrides

    if len(args.videos) != 1:
        raise ConfigError(f"--timeline takes one VIDEO, got {len(args.videos)}")
    if args.audio or args.json:
        raise ConfigError("--audio and --json are for the one-clip mode; --timeline reads the video's own track")
    if args.top_k is not None:
        raise ConfigError("--top-k is for the one-clip mode; --timeline writes every class's probability per window")
    if args.config is not None:
        raise ConfigError("--timeline uses the experiment beside the adapter; --config is for the one-clip mode")
    video = args.videos[0]
    out = args.out if args.out is not None else Path(f"{video.stem}_timeline")
    check_output_dir(out)  # before any decoding
    settings = {k: v for k, v in (("window", args.window), ("stride", args.stride)) if v is not None}
    cfg = TimelineConfig(**settings, detect_faces=not args.no_faces, progress=not args.no_progress)
    timeline = predict_timeline(
        args.adapter, video, cfg, device=args.device, overrides=[*flag_overrides(args), *args.overrides]
    )
    files = write_timeline(timeline, out)
    predicted = sum(r.predicted for r in timeline.rows)
    windows = f"{len(timeline.rows)} window{'' if len(timeline.rows) == 1 else 's'}"
    print(f"{video}: {windows} of {cfg.window:g} s every {cfg.stride:g} s, {predicted} predicted")
    for note in timeline.notes:
        print(f"  note: {note}")
    for path in files.values():
        print(f"  wrote {path}")
    return 0
