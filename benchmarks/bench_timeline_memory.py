"""Peak memory of ``predict_timeline`` against video length: streaming keeps it flat.

Writes synthetic videos of several lengths (default 1, 10 and 30 minutes; 64 px frames at 10 fps, 16 kHz mono PCM
audio, written frame by frame), then runs the timeline of each in a fresh process (a tiny random two-ViT model,
whole frames: MTCNN would only add its own constant memory and hours of CPU) and reads that process's peak RSS.
For contrast the same process kind also runs ``decode_media`` (which keeps every decoded frame of the file) on each
video. Prints a JSON record naming the machine; ``--out`` writes it (default
``benchmarks/results/cpu_timeline_memory.json``).

    .venv/bin/python benchmarks/bench_timeline_memory.py --minutes 1 10 30
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import numpy as np  # noqa: E402

SIZE, FPS, RATE = 64, 10, 16_000
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "cpu_timeline_memory.json"


def write_long_video(path: Path, minutes: float) -> Path:
    """A moving-gradient video with a tone, generated and encoded a frame at a time (never held whole)."""
    import av

    rng = np.random.default_rng(0)
    frames = round(minutes * 60 * FPS)
    per_frame = RATE // FPS
    with av.open(str(path), "w", format="mp4") as container:
        v = container.add_stream("mpeg4", rate=FPS)
        v.width = v.height = SIZE
        v.pix_fmt = "yuv420p"
        a = container.add_stream("pcm_s16le", rate=RATE, layout="mono")
        ramp = np.linspace(0, 255, SIZE, dtype=np.float32)
        for i in range(frames):
            image = np.empty((SIZE, SIZE, 3), dtype=np.uint8)
            image[..., 0] = (ramp[None, :] + 3 * i) % 256
            image[..., 1] = (ramp[:, None] + 5 * i) % 256
            image[..., 2] = rng.integers(0, 256, (SIZE, SIZE))
            for packet in v.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
            t = (np.arange(per_frame) + i * per_frame) / RATE
            pcm = np.rint(0.3 * np.sin(2 * np.pi * (220 + 50 * np.sin(t)) * t) * 32767).astype(np.int16)[None]
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
            frame.sample_rate, frame.pts = RATE, i * per_frame
            for packet in a.encode(frame):
                container.mux(packet)
        for stream in (v, a):
            for packet in stream.encode():
                container.mux(packet)
    return path


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(video: Path, mode: str) -> dict:
    """Run in a fresh process: the baseline peak after imports and model build, then the peak after ``mode``."""
    import torch
    from timm.models.vision_transformer import VisionTransformer

    import mmadapt
    from mmadapt.data import DataConfig, decode_media
    from mmadapt.timeline import TimelineConfig, predict_timeline

    torch.set_num_threads(1)
    torch.manual_seed(0)
    vit = dict(patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=0)
    audio = VisionTransformer(img_size=(64, 32), in_chans=1, **vit)
    video_vit = VisionTransformer(img_size=32, in_chans=3, **vit)
    head = {"dim": 32, "depth": 1, "heads": 2, "dim_head": 16, "mlp_dim": 64, "max_frames": 4}
    model = mmadapt.wrap_encoders(audio, video_vit, preset="mma-dfer", head=head, num_classes=4).eval()
    data = DataConfig(num_frames=4, transform={"img_size": 32}, audio={"target_frames": 64, "num_mel_bins": 32})
    baseline = _peak_mib()
    start = time.perf_counter()
    if mode == "timeline":
        timeline = predict_timeline(model, video, TimelineConfig(detect_faces=False, batch_size=16), data=data)
        windows = len(timeline.rows)
    else:
        frames, _ = decode_media(video, [0])
        windows = frames.num_frames if frames is not None else 0
    return {
        "mode": mode,
        "baseline_peak_rss_mib": round(baseline, 1),
        "peak_rss_mib": round(_peak_mib(), 1),
        "seconds": round(time.perf_counter() - start, 1),
        "count": windows,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0, 30.0])
    p.add_argument("--modes", nargs="+", default=["timeline", "decode_media"], choices=["timeline", "decode_media"])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="timeline", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.mode)))
        return

    import torch

    from benchmarks.envinfo import collect_env, write_json

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            video = write_long_video(Path(tmp) / f"long_{minutes:g}min.mp4", minutes)
            for mode in args.modes:
                done = subprocess.run(
                    [sys.executable, __file__, "--child", str(video), "--mode", mode],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                row = {"minutes": minutes, "file_mib": round(video.stat().st_size / 2**20, 1)}
                row.update(json.loads(done.stdout.strip().splitlines()[-1]))
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
            video.unlink()
    record = {
        "benchmark": "timeline_memory",
        "env": collect_env(torch.device("cpu")),
        "video": {"size": SIZE, "fps": FPS, "sample_rate": RATE, "codec": "mpeg4 + pcm_s16le"},
        "timeline": {"window": 2.0, "stride": 0.5, "detect_faces": False, "num_frames": 4},
        "results": rows,
    }
    print(json.dumps(record, indent=2))
    if args.out:
        write_json(args.out, record)


if __name__ == "__main__":
    main()
