"""Synthetic videos of the timeline tests, written with PyAV directly (not the code under test).

A "face" is a bright square on a dark, noisy background; :class:`SquareDetector` finds it, so the tracking rules
can be checked exactly without MTCNN (which finds no face in drawings).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

FPS = 10
SIZE = 48
SQUARE = 12


def square_frames(seconds: float, face: Callable[[float], tuple[int, int] | None], seed: int = 0) -> np.ndarray:
    """uint8 (F, SIZE, SIZE, 3): noise plus a white square whose top-left corner is ``face(t)`` (None: absent)."""
    rng = np.random.default_rng(seed)
    count = round(seconds * FPS)
    frames = rng.integers(0, 60, size=(count, SIZE, SIZE, 3), dtype=np.uint8)
    for i in range(count):
        corner = face(i / FPS)
        if corner is not None:
            x, y = corner
            frames[i, y : y + SQUARE, x : x + SQUARE] = 255
    return frames


def tone(seconds: float, rate: int, channels: int = 1, hz: float = 440.0) -> np.ndarray:
    """float32 (C, N) sine at ``hz`` (channel c scaled by 1 / (c + 1)), amplitude 0.5."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * hz * t)
    return np.stack([wave / (c + 1) for c in range(channels)]).astype(np.float32)


def write_av(path: Path, frames: np.ndarray, audio: np.ndarray | None = None, rate: int = 16_000) -> Path:
    """An mp4 of ``frames`` at FPS (mpeg4, near-lossless) and, if given, ``audio`` (C, N) as 16-bit PCM."""
    layouts = {1: "mono", 2: "stereo"}
    with av.open(str(path), "w", format="mp4") as container:
        v = container.add_stream("mpeg4", rate=FPS, options={"qmin": "1", "qmax": "2"})
        v.height, v.width = frames.shape[1:3]
        v.pix_fmt = "yuv420p"
        a = None
        if audio is not None:
            a = container.add_stream("pcm_s16le", rate=rate, layout=layouts[audio.shape[0]])
        for image in frames:
            for packet in v.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in v.encode():
            container.mux(packet)
        if a is not None and audio is not None:
            pcm = np.rint(audio * 32767).astype(np.int16)
            for start in range(0, pcm.shape[1], 1024):
                chunk = np.ascontiguousarray(pcm[:, start : start + 1024].T.reshape(1, -1))  # packed s16
                frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout=layouts[audio.shape[0]])
                frame.sample_rate = rate
                frame.pts = start
                for packet in a.encode(frame):
                    container.mux(packet)
            for packet in a.encode():
                container.mux(packet)
    return path


class SquareDetector:
    """facenet's ``MTCNN.detect`` contract for the white square: its box, or None where it is absent.

    ``miss`` lists calls' image positions to report as misses (a detector's blink), by a predicate of the image.
    """

    def __init__(self, miss: Callable[[np.ndarray], bool] | None = None) -> None:
        self.miss = miss
        self.images = 0

    def detect(self, imgs: np.ndarray) -> tuple[list, list]:
        boxes, scores = [], []
        for image in imgs:
            self.images += 1
            ys, xs = np.nonzero(image.min(axis=-1) > 200)
            if ys.size == 0 or (self.miss is not None and self.miss(image)):
                boxes.append(None)
                scores.append(None)
            else:
                boxes.append(np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=float))
                scores.append(np.array([0.99]))
        return boxes, scores
