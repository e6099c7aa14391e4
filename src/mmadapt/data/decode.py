"""Decoding with PyAV (bundled FFmpeg): an mp4's frames as uint8 RGB and any file's audio track as floats.

Video frames are decoded in order and only the selected ones are converted to RGB, so a caller can choose
indices once the frame count is known (``select`` may be a callable of the count). Audio is converted to
planar float32 in [-1, 1] (integer PCM divided by its full scale, as torchaudio and soundfile do) at the
file's own rate; wav, flac, m4a and the audio track of an mp4 all go through the same path.

Shape legend: K selected frames, H height, W width, C channels, N samples.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DecodeError
from .probe import MissingAudioError, open_container, probe_media

__all__ = ["AudioTrack", "MissingAudioError", "VideoFrames", "decode_audio", "decode_media", "decode_video"]

Select = Sequence[int] | Callable[[int], Sequence[int]] | None


@dataclass(frozen=True)
class VideoFrames:
    """Selected frames of a video."""

    frames: np.ndarray
    """uint8 (K, H, W, 3) RGB."""
    indices: tuple[int, ...]
    """Which decoded frames were kept, in order (may repeat)."""
    num_frames: int
    """How many frames the stream decoded to."""
    fps: float | None
    """Average frame rate the container reports (None if unknown)."""


@dataclass(frozen=True)
class AudioTrack:
    """A decoded audio track."""

    waveform: np.ndarray
    """float32 (C, N) in [-1, 1]."""
    sample_rate: int


def _av() -> Any:
    import av  # local: keeps `import mmadapt.data` light

    return av


def _resolve(select: Select, count: int, path: Path) -> list[int]:
    if select is None:
        return list(range(count))
    indices = [int(i) for i in (select(count) if callable(select) else select)]
    bad = [i for i in indices if not 0 <= i < count]
    if bad:
        raise DecodeError(path, f"frame indices {bad[:5]} outside the {count} decoded frames")
    return indices


_local = threading.local()


def _reformatter() -> Any:
    """One ``VideoReformatter`` per thread, shared by every frame and clip it decodes.

    Why: converting a decoded frame with its own ``to_ndarray(format="rgb24")`` builds a fresh swscale context per
    frame, ~8 ms each on the development CPU at any frame size; a shared one reuses its context (0.4 ms per 64 px
    frame, identical pixels). See ``benchmarks/bench_data.py`` for the stage times.
    """
    if not hasattr(_local, "reformatter"):
        from av.video.reformatter import VideoReformatter

        _local.reformatter = VideoReformatter()
    return _local.reformatter


def _to_rgb(frames: list[Any], indices: list[int]) -> np.ndarray:
    """RGB arrays of the selected frames only (each distinct index converted once)."""
    reformatter = _reformatter()
    cache: dict[int, np.ndarray] = {}
    for i in indices:
        if i not in cache:
            cache[i] = reformatter.reformat(frames[i], format="rgb24").to_ndarray()
    return np.stack([cache[i] for i in indices])  # (K, H, W, 3)


def _audio_array(frames: list[Any], stream: Any, path: Path) -> AudioTrack:
    av = _av()
    resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
    chunks: list[np.ndarray] = []
    for frame in [*frames, None]:  # None flushes the resampler
        chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
    if not chunks:
        raise DecodeError(path, "audio stream holds no samples")
    waveform = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)  # (C, N)
    return AudioTrack(waveform=waveform, sample_rate=int(stream.rate))


def decode_media(
    path: str | os.PathLike[str], select: Select = None, *, video: bool = True, audio: bool = True
) -> tuple[VideoFrames | None, AudioTrack | None]:
    """Decode the first video and/or audio stream of one file in a single pass.

    Returns ``(frames, audio)``; ``audio`` is None when the file has no audio stream, ``frames`` when
    ``video=False``. The file is probed first (:func:`~mmadapt.data.probe.probe_media`): a foreign file, a still
    image, a truncated file or one without the video stream raises its own :class:`DecodeError` naming it, so
    ``audio`` is None only for a valid file that really has no audio stream.
    """
    src = Path(path)
    av = _av()
    probe_media(src, require_video=video)
    container = open_container(src)  # after the probe: its failures get the probe's messages
    try:
        v_stream = container.streams.video[0] if video and container.streams.video else None
        a_stream = container.streams.audio[0] if audio and container.streams.audio else None
        if video and v_stream is None:
            raise DecodeError(src, "no video stream")
        streams = [s for s in (v_stream, a_stream) if s is not None]
        v_frames: list[Any] = []
        a_frames: list[Any] = []
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    (v_frames if packet.stream is v_stream else a_frames).append(frame)
        except (av.FFmpegError, OSError, ValueError) as err:
            raise DecodeError(src, f"decoding failed ({err})") from err
        frames = None
        if v_stream is not None:
            if not v_frames:
                raise DecodeError(src, "video stream decodes to no frames")
            indices = _resolve(select, len(v_frames), src)
            rate = v_stream.average_rate
            frames = VideoFrames(
                _to_rgb(v_frames, indices), tuple(indices), len(v_frames), float(rate) if rate else None
            )
        track = _audio_array(a_frames, a_stream, src) if a_stream is not None else None
        return frames, track
    finally:
        container.close()


def decode_video(path: str | os.PathLike[str], select: Select = None) -> VideoFrames:
    """Frames of an mp4 (all, the given indices, or ``select(num_frames)``) as uint8 RGB (K, H, W, 3)."""
    frames, _ = decode_media(path, select, audio=False)
    assert frames is not None
    return frames


def decode_audio(path: str | os.PathLike[str]) -> AudioTrack:
    """The first audio stream of a wav/flac/mp4/... file as float32 (C, N) and its rate."""
    _, track = decode_media(path, video=False)
    if track is None:
        raise MissingAudioError(path, "has no audio stream (a valid media file without sound)")
    return track
