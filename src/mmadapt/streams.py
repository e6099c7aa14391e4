"""Streams: the named encoders of a multimodal model, and what adapters may know about each.

A stream is one frozen backbone under a name (``"audio"``, ``"video"``, ``"flow"`` ...) that runs either once per clip
(audio-like: input ``(n, C, H, W)``) or once per frame (video-like: input ``(n, T, C, H, W)`` run as ``n·T`` images).
Adapters are built from :class:`StreamInfo` records, never from argument positions, so any number of streams works
and two streams of equal width can never be silently swapped.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from torch import nn

from .anatomy import Anatomy
from .errors import ConfigError, UnsupportedBackboneError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED = frozenset({"label"})
"""Names a stream cannot take: batch keys of the recipe."""

__all__ = ["LEGACY_FORWARD_ORDER", "LEGACY_FRAMES", "LEGACY_STREAMS", "StreamInfo", "as_streams", "stream_infos"]


@dataclass(frozen=True)
class StreamInfo:
    """The facts about one stream that adapter kinds are built from."""

    name: str
    per_frame: bool
    """Applied to every frame of a clip (video-like) rather than once per clip (audio-like)."""
    width: int
    depth: int
    num_tokens: int
    """Tokens per image at the attached input size, prefix tokens included, prompts excluded."""
    num_prefix_tokens: int


def stream_infos(anatomies: Mapping[str, Anatomy], frames: Collection[str]) -> dict[str, StreamInfo]:
    """One :class:`StreamInfo` per stream, in the streams' order; ``frames`` names the per-frame streams."""
    unknown = sorted(set(frames) - set(anatomies))
    if unknown:
        raise ConfigError(f"frames names {unknown}, which are not streams of this model ({list(anatomies)})")
    return {
        name: StreamInfo(name, name in frames, a.width, a.depth, a.num_tokens(), a.num_prefix_tokens)
        for name, a in anatomies.items()
    }


# ---- the two-stream API that came before named streams -------------------------------------------------------
LEGACY_STREAMS = ("audio", "video")
"""Stream names given to ``wrap_encoders(audio_vit, video_vit)``, in that (constructor) order."""
LEGACY_FORWARD_ORDER = ("video", "audio")
"""Order of the positional arguments of ``model(video, audio)``."""
LEGACY_FRAMES = frozenset({"video"})
"""The per-frame stream of the two-stream API, and the default ``frames`` of a mapping that names a "video"."""


def as_streams(
    backbones: Mapping[str, nn.Module] | nn.Module,
    video: nn.Module | None = None,
    frames: Collection[str] | None = None,
) -> tuple[dict[str, nn.Module], frozenset[str]]:
    """``({stream: backbone}, per-frame streams)`` from a mapping (plus ``frames``), or from the two-stream form
    ``(audio_vit, video_vit)``; names are checked, distinct backbones required."""
    if isinstance(backbones, Mapping):
        if video is not None:
            raise UnsupportedBackboneError("pass either one {stream: backbone} mapping or (audio_vit, video_vit)")
        streams = dict(backbones)
    elif isinstance(backbones, nn.Module) and isinstance(video, nn.Module):
        streams = dict(zip(LEGACY_STREAMS, (backbones, video), strict=True))
    else:
        raise UnsupportedBackboneError(
            "expected a {stream: backbone} mapping or two torch.nn.Module backbones (audio_vit, video_vit), got "
            f"{type(backbones).__name__} and {type(video).__name__}"
        )
    if not streams:
        raise ConfigError("a multimodal model needs at least one stream")
    for name, backbone in streams.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name in RESERVED:
            raise ConfigError(
                f"stream name {name!r} must be a Python identifier and not one of {sorted(RESERVED)} (batch keys)"
            )
        if not isinstance(backbone, nn.Module):
            raise UnsupportedBackboneError(
                f"stream {name!r}: expected a torch.nn.Module, got {type(backbone).__name__}"
            )
    seen: dict[int, str] = {}
    for name, backbone in streams.items():
        if id(backbone) in seen:
            raise UnsupportedBackboneError(
                f"streams {seen[id(backbone)]!r} and {name!r} are the same backbone object; "
                "pass one backbone per stream"
            )
        seen[id(backbone)] = name
    if frames is None:
        if not LEGACY_FRAMES & set(streams) and len(streams) > 1:
            raise ConfigError(f"say which of the streams {list(streams)} run per frame: frames={{...}} (may be empty)")
        frames = LEGACY_FRAMES & set(streams)
    if isinstance(frames, str):  # one name, not its letters
        frames = {frames}
    unknown = sorted(set(frames) - set(streams))
    if unknown:
        raise ConfigError(f"frames names {unknown}, which are not streams ({list(streams)})")
    return streams, frozenset(frames)
