"""Face-cropped frame folders from videos (MTCNN, the paper's MAFW preprocessing), e.g.
``mmadapt prep-faces clips/*.mp4 --labels labels.csv --out faces/``.

Each video becomes ``OUT/<video stem>/00001.jpg ...`` plus its audio track as ``OUT/<video stem>.wav``, and an
official annotation list (``frame_dir num_frames label``) is written beside the folders, ready for
``mmadapt train data.source.kind=annotations data.source.train=OUT/annotations.txt data.source.audio_dir=OUT``.
Labels come from a ``video,label`` CSV/JSONL (the manifest format; videos are matched by path, then by file
name); without VIDEOS every clip of the labels file is processed. Needs facenet-pytorch.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

HELP = "crop faces from videos into frame folders + their audio as wav + an official annotation list"
_NAMED = 5
"""Videos without audio named in the summary line; the rest are counted."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "videos", nargs="*", type=Path, metavar="VIDEO", help="videos to process; default: those of --labels"
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (frame folders + list)")
    p.add_argument(
        "--labels",
        type=Path,
        default=None,
        metavar="FILE",
        help="CSV (video,label) or JSONL manifest giving each video's 0-based label; without it every label is 0",
    )
    p.add_argument("--size", type=int, default=224, help="side of the saved square face crops (pixels)")
    p.add_argument("--margin", type=float, default=0.0, help="enlarge the face box side by this fraction")
    p.add_argument("--min-face-size", type=int, default=20, help="smallest face MTCNN looks for (pixels)")
    p.add_argument("--batch-size", type=int, default=32, help="frames per detector call")
    p.add_argument("--device", default="cpu", help="torch device of the face detector")
    p.add_argument("--annotation-name", default="annotations.txt", help="file name of the annotation list in --out")
    p.add_argument("--overwrite", action="store_true", help="replace existing frame folders of the same videos")


def _labels_for(videos: list[Path], labels_file: Path | None) -> tuple[list[Path], list[int]]:
    from ..data import read_manifest
    from ..errors import ConfigError

    if labels_file is None:
        if not videos:
            raise ConfigError("give VIDEO files, or --labels FILE listing them")
        warnings.warn("no --labels: every clip is labelled 0 in the annotation list", UserWarning, stacklevel=2)
        return videos, [0] * len(videos)
    records = read_manifest(labels_file)
    if not videos:
        return [r.video for r in records], [r.label for r in records]
    by_path = {r.video.resolve(): r.label for r in records}
    by_name: dict[str, list[int]] = {}
    for r in records:
        by_name.setdefault(r.video.name, []).append(r.label)
    labels = []
    for video in videos:
        if video.resolve() in by_path:
            labels.append(by_path[video.resolve()])
        elif len(by_name.get(video.name, [])) == 1:
            labels.append(by_name[video.name][0])
        elif video.name in by_name:
            raise ConfigError(f"{video}: {labels_file} lists several videos named {video.name}; give full paths")
        else:
            raise ConfigError(f"{video}: not listed in {labels_file}")
    return videos, labels


def run(args: argparse.Namespace) -> int:
    from ..data import FaceCropConfig, prep_faces
    from ._common import check_output_dir

    check_output_dir(args.out)  # before the detector runs
    videos, labels = _labels_for(list(args.videos), args.labels)
    config = FaceCropConfig(
        size=args.size,
        margin=args.margin,
        min_face_size=args.min_face_size,
        batch_size=args.batch_size,
        device=args.device,
    )
    report = prep_faces(
        videos, args.out, labels, config, annotation_name=args.annotation_name, overwrite=args.overwrite
    )
    print(
        f"{len(report.clips)} videos, {report.frames} frames ({report.frames_without_face} without a detected face) "
        f"-> {report.annotation_file}"
    )
    silent = report.without_audio
    audio = f"audio: {len(report.clips) - len(silent)} wav files in {args.out} (data.source.audio_dir={args.out})"
    if silent:
        names = ", ".join(p.name for p in silent[:_NAMED]) + (" ..." if len(silent) > _NAMED else "")
        audio += f"; {len(silent)} videos have no audio track, so no wav: {names}"
    print(audio)
    return 0
