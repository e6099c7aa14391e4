"""Data-pipeline throughput: clips/s for mp4 decode + frame sampling + clip transforms + Kaldi fbank.

Writes the synthetic dataset to a temporary folder, as mp4 files (``VideoManifestDataset``) and in the official
DFEW/MAFW layout (JPEG frame folders + wav files + an annotation list, ``FrameFolderDataset``), then times
``__getitem__`` of each in train and test mode on one thread of one core (no DataLoader workers), after one
warm-up pass, and splits each clip's time into its stages (mp4 decode of frames and audio, frame transforms,
fbank features), so it is clear which one to move elsewhere (e.g. the fbank to the GPU) when the loader cannot
keep up. Prints a JSON record naming the machine; ``--out`` also writes it to a file.

    .venv/bin/python benchmarks/bench_data.py --clips-per-class 8 --img-size 224
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import torch  # noqa: E402

from benchmarks.envinfo import collect_env, device_name  # noqa: E402
from mmadapt._io import atomic_write_json  # noqa: E402
from mmadapt.data import (  # noqa: E402
    AudioRule,
    DataConfig,
    FbankConfig,
    FrameFolderDataset,
    TransformConfig,
    VideoManifestDataset,
    make_synthetic_dataset,
)
from mmadapt.demo.scenes import SYNTHETIC_CLASSES, SyntheticConfig, synthesize_clip  # noqa: E402

SOURCES = ("mp4", "frames")


STAGES = {"decode": "_decode", "transform": "transform", "fbank": "_audio_features"}
"""Stage name -> the dataset attribute that does it (``VideoManifestDataset._load`` calls them in this order)."""


class _StageClock:
    """Wraps the stage callables of one dataset instance (not its class) and sums their wall time."""

    def __init__(self, dataset: VideoManifestDataset) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        for stage, attr in STAGES.items():
            setattr(dataset, attr, self._timed(stage, getattr(dataset, attr)))

    def _timed(self, stage: str, fn):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start

        return call


def _av_version() -> str:
    import av

    return av.__version__


def write_frame_folders(root: Path, clips_per_class: int, config: SyntheticConfig, seed: int = 0) -> Path:
    """The synthetic clips in the official layout: ``frames/<id>/<k>.jpg``, ``audio/<id>.wav`` (16-bit PCM) and
    ``annotations.txt`` (``frame_dir num_frames label``); returns the annotation file."""
    import wave

    from PIL import Image

    lines = []
    (root / "audio").mkdir(parents=True, exist_ok=True)
    for label in range(len(SYNTHETIC_CLASSES)):
        for index in range(clips_per_class):
            frames, samples = synthesize_clip(label, index, seed, config)  # (T, S, S, 3) uint8, (N,) float
            folder = root / "frames" / f"{label}{index:05d}"
            folder.mkdir(parents=True)
            for k, image in enumerate(frames):
                Image.fromarray(image).save(folder / f"{k:05d}.jpg", quality=95)
            with wave.open(str(root / "audio" / f"{folder.name}.wav"), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(config.sample_rate)
                out.writeframes((samples * 32767).astype("<i2").tobytes())
            lines.append(f"{folder} {len(frames)} {label}")
    annotations = root / "annotations.txt"
    annotations.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return annotations


def _time_dataset(dataset: VideoManifestDataset, repeats: int) -> tuple[float, dict[str, float]]:
    """(clips/s, ms per clip of each stage) over ``repeats`` passes after a warm-up pass."""
    for index in range(len(dataset)):  # warm-up: file cache, codec and FFT plans
        dataset[index]
    clock = _StageClock(dataset)
    start = time.perf_counter()
    for _ in range(repeats):
        for index in range(len(dataset)):
            dataset[index]
    clips = repeats * len(dataset)
    stages = {name: round(1e3 * s / clips, 2) for name, s in clock.seconds.items()}
    return clips / (time.perf_counter() - start), stages


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips-per-class", type=int, default=8)
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--num-frames", type=int, default=16)
    parser.add_argument("--audio-frames", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--source-size",
        type=int,
        default=SyntheticConfig.size,
        help="side of the stored frames in px (the transforms then resize to --img-size)",
    )
    parser.add_argument(
        "--sources",
        nargs="+",
        default=list(SOURCES),
        choices=SOURCES,
        help="mp4 files and/or JPEG frame folders with wav files (the official layout)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON record here")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    env = collect_env(torch.device("cpu"))
    record: dict[str, object] = {
        "benchmark": "data_pipeline",
        "device": f"cpu: {device_name(torch.device('cpu'))} (1 thread)",
        "torch": torch.__version__,
        "av": _av_version(),
        "date_utc": env["date_utc"],
        "git_commit": env["git_commit"][:10],
        "img_size": args.img_size,
        "num_frames": args.num_frames,
        "audio_frames": args.audio_frames,
        "source_size": args.source_size,
    }
    syn = SyntheticConfig(size=args.source_size)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        datasets = {}
        if "mp4" in args.sources:
            synthetic = make_synthetic_dataset(Path(tmp) / "mp4", n_per_class=args.clips_per_class, seed=0, config=syn)
            datasets["mp4"] = lambda cfg: VideoManifestDataset(synthetic.train_manifest, cfg)
        if "frames" in args.sources:
            annotations = write_frame_folders(Path(tmp) / "frames", args.clips_per_class, syn)
            rule = AudioRule(Path(tmp) / "frames" / "audio")
            datasets["frames"] = lambda cfg: FrameFolderDataset(
                annotations, cfg, num_classes=len(SYNTHETIC_CLASSES), audio_rule=rule
            )
        record["synthetic_clips"] = len(SYNTHETIC_CLASSES) * args.clips_per_class
        record["generate_s"] = round(time.perf_counter() - start, 2)
        for source, build in datasets.items():
            prefix = "" if source == "mp4" else "frames_"  # the mp4 keys keep their earlier names
            for mode in ("train", "test"):
                cfg = DataConfig(
                    num_frames=args.num_frames,
                    mode=mode,
                    seed=0,
                    transform=TransformConfig(img_size=args.img_size),
                    audio=FbankConfig(target_frames=args.audio_frames),
                )
                rate, stages = _time_dataset(build(cfg), args.repeats)
                record[f"{prefix}{mode}_clips_per_s"] = round(rate, 1)
                record[f"{prefix}{mode}_stage_ms_per_clip"] = stages
    print(json.dumps(record, indent=2))
    if args.out is not None:
        atomic_write_json(os.fspath(args.out), record)
    return record


if __name__ == "__main__":
    main()
