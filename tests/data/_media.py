"""Small media helpers of the tests: writers built on the stdlib/PyAV directly (not the code under test)."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np

from mmadapt.demo.scenes import SyntheticConfig

TINY = SyntheticConfig(size=32, fps=12, seconds=1.5, audio_codec="pcm_s16le")  # 18 frames, lossless audio


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """int16 (C, N) samples as a PCM wav."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(samples.shape[0])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.ascontiguousarray(samples.T).astype("<i2").tobytes())
    return path


def write_mp4(path: Path, frames: np.ndarray, fps: int = 10, codec: str = "mpeg4") -> Path:
    """uint8 (T, H, W, 3) frames as a video-only mp4."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_image_as(path: Path, image: np.ndarray, image_format: str) -> Path:
    """uint8 (H, W, 3) saved as a PNG/JPEG under any name (a still image renamed .mp4)."""
    from PIL import Image

    Image.fromarray(image).save(path, format=image_format)
    return path


def remux_index_first(src: Path, dst: Path) -> Path:
    """The same packets with the mp4 index (moov) written first: a copy cut short still opens, listing every frame."""
    with av.open(str(src)) as source, av.open(str(dst), "w", format="mp4", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is None:  # the flush packet ending each stream
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


def cut(src: Path, dst: Path, fraction: float) -> Path:
    """The first ``fraction`` of ``src``'s bytes (a copy killed mid-way, a full disk)."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst
