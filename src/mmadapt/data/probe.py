"""Classify a media file before decoding it, so that each kind of bad file gets its own message.

A text file, a still image renamed ``.mp4``, an mp4 cut short and a valid video without sound all used to end
as "audio not found (missing_audio='zeros' allows it)", and following that advice trained on a corrupt file or
a still image. :func:`probe_media` tells them apart without decoding a frame:

* not media at all (:class:`NotMediaError`): empty, no container FFmpeg recognises (text, random bytes), or a
  still image, which FFmpeg opens as a one-frame ``png_pipe``/``jpeg_pipe``/``image2`` "video";
* truncated or corrupt (:class:`TruncatedMediaError`): a known container signature that FFmpeg cannot open
  (an mp4 cut before its ``moov`` index), packets that fail to demux, or a stream whose packets stop before
  the duration its header declares (an mp4 with its index first, cut short: the index still lists every frame);
* no video stream (:class:`MissingVideoError`), no audio stream (:class:`MissingAudioError`): a valid file
  that lacks the track the caller needs. Only this last case may be zero-filled (``missing_audio='zeros'``).

The truncation check demuxes packets (never decodes them), so its cost follows the file size: on the development
CPU, 0.5 ms for the 18-frame 32 px test clip (52 kB; ``decode_media`` takes 2.6 ms) and 3 ms for an 8 s 224 px
h264 clip (0.7 MB; decoding 8 of its frames takes 85 ms).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import DataFileError, DecodeError

__all__ = [
    "MediaInfo",
    "MissingAudioError",
    "MissingVideoError",
    "NotMediaError",
    "TruncatedMediaError",
    "open_container",
    "probe_media",
]

HEAD_BYTES = 16
"""How much of a file's start is read to recognise a container and quoted when none is recognised."""
IMAGE_DEMUXERS = frozenset({"image2", "image2pipe"})
"""FFmpeg's demuxers of image files besides the ``<codec>_pipe`` family (``png_pipe``, ``jpeg_pipe``, ...)."""
_PIPE_SUFFIX = "_pipe"


class NotMediaError(DecodeError):
    """The file is no audio/video container at all: empty, text, random bytes, or a still image."""


class TruncatedMediaError(DecodeError):
    """The file is a media container, but cut short or damaged."""


class MissingVideoError(DecodeError):
    """A valid media file without the video stream the caller needs (a wav given as the video)."""


class MissingAudioError(DataFileError):
    """A valid media file without an audio stream: the one case ``missing_audio='zeros'`` may fill with silence."""


@dataclass(frozen=True)
class MediaInfo:
    """What a probe found, before any decoding."""

    path: Path
    format: str
    """FFmpeg's demuxer name (``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"wav"``, ``"matroska,webm"``)."""
    size: int
    """File size in bytes."""
    video_codec: str | None
    """Codec of the first video stream, None without one."""
    audio_codec: str | None
    """Codec of the first audio stream, None without one."""
    num_frames: int | None
    """Packets of the first video stream (one per frame for the codecs of this field), None without video."""
    duration: float | None
    """Seconds, as the container reports it (None if unknown)."""
    fps: float | None
    """Average frame rate of the first video stream (None if unknown)."""
    sample_rate: int | None
    """Rate of the first audio stream (None without audio)."""

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


_CONTAINER_SIGNATURES: dict[str, tuple[Callable[[bytes], bool], str]] = {
    "mp4": (lambda h: h[4:8] in {b"ftyp", b"moov", b"mdat", b"free", b"wide"}, " (its moov index is missing or cut)"),
    "matroska/webm": (lambda h: h.startswith(b"\x1a\x45\xdf\xa3"), ""),
    "avi": (lambda h: h[:4] == b"RIFF" and h[8:12] == b"AVI ", ""),
    "wav": (lambda h: h[:4] in {b"RIFF", b"RF64"} and h[8:12] == b"WAVE", ""),
    "ogg": (lambda h: h.startswith(b"OggS"), ""),
    "flac": (lambda h: h.startswith(b"fLaC"), ""),
}
"""Container start signatures (and what is likely lost): a file that starts with one but that FFmpeg cannot open is
damaged, not foreign."""


def _av() -> Any:
    import av  # local: keeps `import mmadapt.data` light

    return av


def _head(path: Path) -> bytes:
    if not path.is_file():
        raise DataFileError(path, "file not found")
    try:
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES)
    except OSError as err:
        raise DataFileError(path, f"cannot read the file ({err.strerror or err})") from err


def open_container(path: Path) -> Any:
    """``av.open`` with its one failure type split into: missing, empty, foreign (not media), damaged."""
    head = _head(path)
    if not head:
        raise NotMediaError(path, "is empty (0 bytes), not a media file")
    av = _av()
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as err:
        for name, (matches, lost) in _CONTAINER_SIGNATURES.items():
            if matches(head):
                raise TruncatedMediaError(
                    path, f"is truncated or corrupt: FFmpeg cannot open this {name} container{lost}"
                ) from err
        raise NotMediaError(
            path, f"is not a media container (in no format FFmpeg knows; starts with {head!r})"
        ) from err


def _still_image(container: Any) -> str | None:
    """The image format when FFmpeg opened the file with an image demuxer (a PNG/JPEG renamed .mp4)."""
    name = container.format.name
    if name.endswith(_PIPE_SUFFIX):
        return name[: -len(_PIPE_SUFFIX)]
    if name in IMAGE_DEMUXERS:
        video = container.streams.video
        return video[0].codec_context.name if video else name
    return None


def _seconds(ticks: int, stream: Any) -> float:
    return float(ticks * stream.time_base)


def _check_complete(path: Path, container: Any, streams: list[Any]) -> dict[int, int]:
    """Demux (never decode) the given streams; packets per stream. Raises when a stream stops early.

    A stream is cut when its last packet ends more than one packet before the end its header declares: the
    slack of one packet keeps a valid file's rounding (audio priming, edit lists) from ever being refused.
    """
    av = _av()
    count = {s.index: 0 for s in streams}
    end: dict[int, int | None] = dict.fromkeys(count, None)  # latest pts + duration, in the stream's time base
    longest = dict.fromkeys(count, 0)
    try:
        for packet in container.demux(*streams):
            if packet.size == 0:  # the flush packet at the end of each stream
                continue
            i, length = packet.stream.index, packet.duration or 0
            count[i] += 1
            longest[i] = max(longest[i], length)
            if packet.pts is not None:
                stop = packet.pts + length
                end[i] = stop if end[i] is None else max(end[i], stop)
    except (av.FFmpegError, OSError, ValueError) as err:
        raise TruncatedMediaError(path, f"is truncated or corrupt: reading its packets failed ({err})") from err
    for stream in streams:
        if not stream.duration or stream.time_base is None:
            continue  # the header promises no length to check against
        declared = (stream.start_time or 0) + stream.duration
        seen = end[stream.index]
        if count[stream.index] == 0:
            raise TruncatedMediaError(
                path,
                f"is truncated or corrupt: its {stream.type} stream holds no data, though its header declares "
                f"{_seconds(stream.duration, stream):.2f} s",
            )
        if seen is not None and declared - seen > longest[stream.index]:
            raise TruncatedMediaError(
                path,
                f"is truncated or corrupt: its {stream.type} stream stops at {_seconds(seen, stream):.2f} s of the "
                f"{_seconds(declared, stream):.2f} s its header declares",
            )
    return count


def _rate(value: Fraction | None) -> float | None:
    return float(value) if value else None


def probe_media(path: str | os.PathLike[str], *, require_video: bool = False, require_audio: bool = False) -> MediaInfo:
    """Classify ``path`` without decoding it; raise the error of its kind, naming the file.

    ``require_video``/``require_audio`` make a missing stream an error (:class:`MissingVideoError`,
    :class:`MissingAudioError`); a still image, a foreign file or a truncated one is an error in any case.
    """
    src = Path(path)
    container = open_container(src)
    try:
        image = _still_image(container)
        if image is not None:
            wanted = "a video" if require_video else "an audio file" if require_audio else "an audio or video file"
            raise NotMediaError(src, f"is a still image ({image}), not {wanted}")
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise NotMediaError(
                src, f"is not a media file: its {container.format.name} container has no audio or video"
            )
        count = _check_complete(src, container, [s for s in (video, audio) if s is not None])
        if require_video and video is None:
            raise MissingVideoError(src, f"has no video stream (a {container.format.name} file holding audio only)")
        if require_audio and audio is None:
            raise MissingAudioError(src, "has no audio stream (a valid video without sound)")
        return MediaInfo(
            path=src,
            format=container.format.name,
            size=src.stat().st_size,
            video_codec=video.codec_context.name if video is not None else None,
            audio_codec=audio.codec_context.name if audio is not None else None,
            num_frames=count[video.index] if video is not None else None,
            duration=container.duration / _av().time_base if container.duration is not None else None,
            fps=_rate(video.average_rate) if video is not None else None,
            sample_rate=int(audio.rate) if audio is not None else None,
        )
    finally:
        container.close()
