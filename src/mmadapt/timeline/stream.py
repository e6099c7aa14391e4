"""Streaming decode of a whole video for a window schedule: each window's sampled frames and its audio, in order,
without holding the video in memory.

Two passes over the file. The first demuxes the video packets without decoding them (milliseconds per minute of
video) to learn every frame's presentation time, so each window's frames can be chosen up front with the test
sampling rule (:func:`~mmadapt.data.sampling.test_indices` over the frames whose time lies in the window, exactly
as the one-clip ``predict`` samples a cut of that span). The second pass decodes in order, converts only the
chosen frames to RGB, and hands out a window as soon as its last frame and its audio have been decoded; frames and
samples that no later window needs are dropped at once, so memory depends on the window length, not the video's.

Audio is converted by PyAV's ``AudioResampler`` to planar float32 at the requested rate, keeping the file's
channels (the experiment's ``audio.multichannel`` policy makes it mono later, as in training). Times are seconds
from the first video frame; the audio is placed on the same clock by its first frame's timestamp.

Shape legend: K views, T frames per view, H, W frame size, C audio channels, N samples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.errors import DecodeError
from ..data.probe import open_container, probe_media
from ..data.sampling import test_indices
from .windows import Window

__all__ = ["VideoIndex", "WindowMedia", "scan_video", "stream_windows", "window_frames"]


@dataclass(frozen=True)
class VideoIndex:
    """What the packet scan learns about a video."""

    path: Path
    times: np.ndarray
    """float64 (F,) presentation time of each frame, seconds from the first one, in decoding-output order."""
    duration: float
    """Seconds from the first frame to the end of the last one."""
    has_audio: bool
    audio_rate: int | None
    """The audio track's own rate (None without a track)."""


@dataclass(frozen=True)
class WindowMedia:
    """The decoded inputs of one window."""

    window: Window
    indices: tuple[int, ...]
    """Frame indices of the K*T sampled frames (views one after another; may repeat)."""
    times: np.ndarray
    """float64 (K*T,) their times in seconds."""
    frames: np.ndarray
    """uint8 (K*T, H, W, 3) RGB."""
    audio: np.ndarray | None
    """float32 (C, N) samples of [start, end) at the requested rate; None when the file has no audio track, N = 0
    when the window lies past the end of the track."""


def _av() -> Any:
    import av  # local: keeps `import mmadapt` light

    return av


def scan_video(path: str | os.PathLike[str]) -> VideoIndex:
    """Frame times of the first video stream from its packets (no decoding); probe errors name the file."""
    src = Path(path)
    info = probe_media(src, require_video=True)
    container = open_container(src)
    try:
        stream = container.streams.video[0]
        base = float(stream.time_base)
        ticks = [p.pts if p.pts is not None else p.dts for p in container.demux(stream) if p.size > 0]
    except _av().FFmpegError as err:
        raise DecodeError(src, f"reading the video packets failed ({err})") from err
    finally:
        container.close()
    ticks = [t for t in ticks if t is not None]
    if not ticks:
        raise DecodeError(src, "video stream holds no timed packets")
    times = np.sort(np.asarray(ticks, dtype=np.float64)) * base
    times -= times[0]
    steps = np.diff(times)
    frame_time = float(np.median(steps)) if steps.size else (1.0 / info.fps if info.fps else 0.0)
    duration = float(times[-1] + frame_time) if frame_time > 0 else float(info.duration or 0.0)
    return VideoIndex(src, times, duration, info.has_audio, info.sample_rate)


def window_frames(index: VideoIndex, windows: Sequence[Window], num_frames: int, views: int = 1) -> list[list[int]]:
    """Per window the K*T frame indices the model sees: the test rule over the frames with start <= t < end (the
    nearest frame when a window holds none, e.g. a very low frame rate)."""
    picks = []
    for w in windows:
        inside = np.flatnonzero((index.times >= w.start - 1e-9) & (index.times < w.end - 1e-9))
        if inside.size == 0:
            inside = np.array([int(np.argmin(np.abs(index.times - w.centre)))])
        picks.append([int(inside[j]) for view in test_indices(inside.size, num_frames, views) for j in view])
    return picks


class _AudioBuffer:
    """Samples of a stretch of the track: ``data[:, i]`` is sample ``start + i`` of the timeline's clock."""

    def __init__(self) -> None:
        self.start: int | None = None
        self.data: np.ndarray | None = None

    @property
    def end(self) -> int:
        return -1 if self.start is None or self.data is None else self.start + self.data.shape[1]

    def append(self, chunk: np.ndarray, first_sample: int) -> None:
        if self.data is None:
            self.start, self.data = first_sample, chunk
        else:
            self.data = np.concatenate([self.data, chunk], axis=1)

    def take(self, begin: int, stop: int, channels: int) -> np.ndarray:
        if self.data is None or self.start is None:
            return np.zeros((channels, 0), dtype=np.float32)
        lo, hi = max(begin - self.start, 0), max(stop - self.start, 0)
        return np.ascontiguousarray(self.data[:, lo:hi])

    def drop_before(self, sample: int) -> None:
        if self.data is not None and self.start is not None and sample > self.start:
            cut = min(sample - self.start, self.data.shape[1])
            self.data, self.start = self.data[:, cut:], self.start + cut


def stream_windows(
    index: VideoIndex, windows: Sequence[Window], picks: Sequence[Sequence[int]], sample_rate: int
) -> Iterator[WindowMedia]:
    """Decode ``index.path`` once, yielding each window's frames ``picks[i]`` and audio in window order."""
    from av.video.reformatter import VideoReformatter

    av = _av()
    src = index.path
    needed = {i for p in picks for i in p}
    last_frame = [max(p) for p in picks]
    first_after = [min((min(p) for p in picks[k:]), default=0) for k in range(len(picks))]  # suffix minima
    spans = [(round(w.start * sample_rate), round(w.end * sample_rate)) for w in windows]
    reformatter = VideoReformatter()
    store: dict[int, np.ndarray] = {}
    audio = _AudioBuffer()
    container = open_container(src)
    try:
        v_stream = container.streams.video[0]
        a_stream = container.streams.audio[0] if container.streams.audio else None
        channels = a_stream.channels if a_stream is not None else 0
        resampler = (
            av.AudioResampler(format="fltp", layout=a_stream.layout, rate=sample_rate) if a_stream is not None else None
        )
        origin: float | None = None  # time of the first video frame on the file's clock
        pending_audio: list[Any] = []  # audio frames decoded before the first video frame fixed the origin
        decoded = 0
        audio_done = a_stream is None
        next_window = 0

        def add_audio(frame: Any) -> None:
            assert resampler is not None and origin is not None
            start = getattr(frame, "time", None) or 0.0  # None flushes the resampler
            for out in resampler.resample(frame):
                first = audio.end if audio.data is not None else round((start - origin) * sample_rate)
                audio.append(out.to_ndarray().astype(np.float32, copy=False), first)

        def ready(k: int) -> bool:
            return decoded > last_frame[k] and (audio_done or audio.end >= spans[k][1])

        def emit(k: int) -> WindowMedia:
            frames = np.stack([store[i] for i in picks[k]])  # (K*T, H, W, 3)
            samples = audio.take(*spans[k], channels) if a_stream is not None else None
            media = WindowMedia(windows[k], tuple(picks[k]), index.times[list(picks[k])], frames, samples)
            keep_from = first_after[k + 1] if k + 1 < len(picks) else decoded
            for i in [i for i in store if i < keep_from]:
                del store[i]
            if k + 1 < len(spans):
                audio.drop_before(spans[k + 1][0])
            return media

        streams = [s for s in (v_stream, a_stream) if s is not None]
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if packet.stream is v_stream:
                        if origin is None:
                            origin = float(frame.time or 0.0)
                            for early in pending_audio:
                                add_audio(early)
                            pending_audio.clear()
                        if decoded in needed:
                            store[decoded] = reformatter.reformat(frame, format="rgb24").to_ndarray()
                        decoded += 1
                    elif origin is None:
                        pending_audio.append(frame)
                    else:
                        add_audio(frame)
                while next_window < len(picks) and ready(next_window):
                    yield emit(next_window)
                    next_window += 1
            if resampler is not None and origin is not None:
                for early in pending_audio:
                    add_audio(early)
                add_audio(None)  # flushes the resampler
            audio_done = True
        except (av.FFmpegError, OSError, ValueError) as err:
            raise DecodeError(src, f"decoding failed ({err})") from err
        missing = [k for k in range(next_window, len(picks)) if last_frame[k] >= decoded]
        if missing:
            raise DecodeError(src, f"decoded {decoded} frames, fewer than the {len(index.times)} its packets list")
        while next_window < len(picks):
            yield emit(next_window)
            next_window += 1
    finally:
        container.close()
