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
