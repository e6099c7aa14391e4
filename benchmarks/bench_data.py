"""Data-pipeline throughput: clips/s for mp4 decode + frame sampling + clip transforms + Kaldi fbank.

Writes the synthetic dataset to a temporary folder, then times ``VideoManifestDataset.__getitem__`` in train
and test mode on one thread of one core (no DataLoader workers), after one warm-up pass. Prints a JSON record
naming the machine; ``--out`` also writes it to a file.

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

from benchmarks.envinfo import device_name  # noqa: E402
from mmadapt._io import atomic_write_json  # noqa: E402
from mmadapt.data import (  # noqa: E402
    DataConfig,
    FbankConfig,
    TransformConfig,
    VideoManifestDataset,
    make_synthetic_dataset,
)


def _time_dataset(dataset: VideoManifestDataset, repeats: int) -> float:
    for index in range(len(dataset)):  # warm-up: file cache, codec and FFT plans
        dataset[index]
    start = time.perf_counter()
    for _ in range(repeats):
        for index in range(len(dataset)):
            dataset[index]
    return repeats * len(dataset) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips-per-class", type=int, default=8)
    parser.add_argument("--img-size", type=int, default=224)
    parser.add_argument("--num-frames", type=int, default=16)
    parser.add_argument("--audio-frames", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON record here")
    args = parser.parse_args()

    torch.set_num_threads(1)
    record: dict[str, object] = {
        "benchmark": "data_pipeline",
        "device": f"cpu: {device_name(torch.device('cpu'))} (1 thread)",
        "torch": torch.__version__,
        "img_size": args.img_size,
        "num_frames": args.num_frames,
        "audio_frames": args.audio_frames,
    }
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        synthetic = make_synthetic_dataset(tmp, n_per_class=args.clips_per_class, seed=0)
        record["synthetic_clips"] = 6 * args.clips_per_class
        record["generate_s"] = round(time.perf_counter() - start, 2)
        for mode in ("train", "test"):
            cfg = DataConfig(
                num_frames=args.num_frames,
                mode=mode,
                seed=0,
                transform=TransformConfig(img_size=args.img_size),
                audio=FbankConfig(target_frames=args.audio_frames),
            )
            dataset = VideoManifestDataset(synthetic.train_manifest, cfg)
            record[f"{mode}_clips_per_s"] = round(_time_dataset(dataset, args.repeats), 1)
    print(json.dumps(record, indent=2))
    if args.out is not None:
        atomic_write_json(os.fspath(args.out), record)


if __name__ == "__main__":
    main()
