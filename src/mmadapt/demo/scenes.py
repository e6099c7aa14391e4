"""A tiny, deterministic, offline audio-visual "expression" dataset of real mp4 files, for demos and tests.

Each clip is a procedurally drawn face (ellipse, eyes, eyebrows, a mouth whose curvature and opening unfold over
time) with a voice-like sound track (harmonic tone whose pitch and energy contours follow the class), muxed
into one mp4 (mpeg4 or h264 video, aac or pcm audio). Six classes, designed so that each cue matters:

=====  ==============  ==============================================  ===================================
label  name            video                                           audio
=====  ==============  ==============================================  ===================================
0      smile_forming   neutral mouth curving into a smile              steady voice
1      smile_fading    the frames of class 0 in reverse order          the same steady voice as class 0
2      voice_rising    talking face (mouth opens/closes)               pitch rises ~0.8 octave
3      voice_falling   the same frames as class 2                      pitch falls ~0.8 octave
4      surprise        brows rise, eyes widen, mouth opens round       steady voice with a loud burst
5      anger           brows slant inwards, eyes narrow, mouth frowns  low, harsh (rich harmonics) voice
=====  ==============  ==============================================  ===================================

So 0 vs 1 is separable only by temporal order (same frames, same audio), 2 vs 3 only by audio (identical video),
and 4, 5 by appearance (their audio differs as well). Clip ``j`` of classes 0 and 1 (and of 2 and 3) is built
from the same nuisance draw, which makes those pairs exact: identical pixels before encoding, reversed or
identical frame order. Nuisance per clip: face position, scale, drift, skin and background colour, pixel
noise, speaker base pitch, harmonic balance, syllable rhythm, noise floor; a model cannot memorise one template.

Shape legend: T frames, S frame side, N audio samples.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_path, atomic_write_json
from ..config_base import ConfigBase
from ..errors import ConfigError

__all__ = [
    "ACTION_NAMES",
    "CLASS_CUES",
    "SYNTHETIC_CLASSES",
    "SyntheticConfig",
    "SyntheticDataset",
    "expression_track",
    "load_class_names",
    "make_synthetic_dataset",
    "speaker_traits",
    "synthesize_clip",
]

SYNTHETIC_CLASSES = ("smile_forming", "smile_fading", "voice_rising", "voice_falling", "surprise", "anger")
# Which cue separates each class from its partner (for docs, summaries and tests).
CLASS_CUES = {
    "smile_forming": "temporal order",
    "smile_fading": "temporal order",
    "voice_rising": "audio",
    "voice_falling": "audio",
    "surprise": "appearance",
    "anger": "appearance",
}
_PAIR_OF = {0: 0, 1: 0, 2: 2, 3: 2, 4: 4, 5: 5}  # classes drawn from one shared nuisance stream


@dataclass
class SyntheticConfig(ConfigBase):
    """Size and encoding of the synthetic clips."""

    size: int = 64
    """Frame side S in pixels (even, for yuv420p)."""
    fps: int = 16
    """Video frame rate."""
    seconds: float = 1.5
    """Clip duration."""
    sample_rate: int = 16_000
    """Audio rate in Hz."""
    test_fraction: float = 0.25
    """Share of each class's clips written to test.csv (at least one)."""
    video_codec: str = "mpeg4"
    """'mpeg4' (MPEG-4 part 2, byte-reproducible) or 'libx264' (h264; x264's output varies slightly from run to
    run in this FFmpeg build, so files are not byte-identical across runs)."""
    audio_codec: str = "aac"
    """'aac' or 'pcm_s16le'."""
    pixel_noise: float = 4.0
    """Std of the per-pixel Gaussian noise, in 0-255 units."""
    nuisance: float = 1.0
    """Spread of the per-clip look (position, drift, scale, skin and background colour) around its middle:
    1 = full spread, 0 = every clip looks alike apart from its expression and voice."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks by annotation
        if self.size < 16 or self.size % 2:
            raise ConfigError(f"size must be an even number >= 16, got {self.size}")
        if self.fps < 1 or self.seconds <= 0 or self.sample_rate < 8000:
            raise ConfigError(f"need fps >= 1, seconds > 0, sample_rate >= 8000; got {self}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.video_codec not in ("libx264", "mpeg4"):
            raise ConfigError(f"video_codec must be 'libx264' or 'mpeg4', got {self.video_codec!r}")
        if self.audio_codec not in ("aac", "pcm_s16le"):
            raise ConfigError(f"audio_codec must be 'aac' or 'pcm_s16le', got {self.audio_codec!r}")
        if self.pixel_noise < 0:
            raise ConfigError(f"pixel_noise must be >= 0, got {self.pixel_noise}")
        if not 0.0 <= self.nuisance <= 1.0:
            raise ConfigError(f"nuisance must lie in [0, 1], got {self.nuisance}")

    @property
    def num_frames(self) -> int:
        return max(1, round(self.fps * self.seconds))

    @property
    def num_samples(self) -> int:
        return round(self.sample_rate * self.seconds)


@dataclass(frozen=True)
class SyntheticDataset:
    """Where :func:`make_synthetic_dataset` wrote things."""

    root: Path
    train_manifest: Path
    test_manifest: Path
    classes_file: Path
    class_names: tuple[str, ...]


# ---------------------------------------------------------------------------------------------------------
# Drawing. Coordinates are in face units: (u, v) = (x - cx, y - cy) / radius, v pointing down.
# ---------------------------------------------------------------------------------------------------------
def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _coverage(signed_dist: np.ndarray, softness: float) -> np.ndarray:
    """Anti-aliased inside-ness of a shape from a signed distance (negative inside), in pixels."""
    return np.clip(0.5 - signed_dist / softness, 0.0, 1.0)


def _paint(canvas: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Blend ``colour`` over ``canvas`` (T, S, S, 3) where ``alpha`` (T, S, S) > 0; small shapes stay cheap."""
    inside = alpha > 0.0
    weight = alpha[inside][:, None]  # (P, 1)
    canvas[inside] += weight * (colour - canvas[inside])


def _segment_distance(u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from (u, v) to segments a->b; a, b are (T, 2) per-frame endpoints."""
    au, av_ = a[:, 0, None, None], a[:, 1, None, None]
    du, dv = (b[:, 0] - a[:, 0])[:, None, None], (b[:, 1] - a[:, 1])[:, None, None]
    t = np.clip(((u - au) * du + (v - av_) * dv) / (du * du + dv * dv), 0.0, 1.0)
    return np.hypot(u - au - t * du, v - av_ - t * dv)


def _draw_faces(expr: dict[str, np.ndarray], look: dict[str, Any], size: int) -> np.ndarray:
    """Render T frames (float 0-255, (T, S, S, 3)) from per-frame expression parameters."""
    frames = len(expr["curve"])
    radius = look["scale"] * 0.36 * size  # half-width of the face, pixels
    progress = np.linspace(0.0, 1.0, frames)
    cx = (0.5 + look["dx"] + look["drift_x"] * progress) * size  # (T,)
    cy = (0.52 + look["dy"] + look["drift_y"] * progress) * size
    pix = np.arange(size, dtype=np.float64) + 0.5
    u = (pix[None, None, :] - cx[:, None, None]) / radius  # (T, 1, S)
    v = (pix[None, :, None] - cy[:, None, None]) / radius  # (T, S, 1)
    u, v = np.broadcast_arrays(u, v)  # (T, S, S)
    soft = 1.2 / radius  # one pixel and a bit, in face units

    canvas = np.broadcast_to(look["background"], (frames, size, size, 3)).copy()
    face = np.hypot(u, v / 1.25) - 1.0
    _paint(canvas, _coverage(face, soft), look["skin"])

    dark = np.array([40.0, 30.0, 30.0])
    eye_h = (0.09 * expr["eye_open"])[:, None, None]
    for side in (-1.0, 1.0):
        eye = np.hypot((u - side * 0.38) / 0.14, (v + 0.22) / eye_h) - 1.0
        _paint(canvas, _coverage(eye * 0.1, soft), dark)
        inner = np.stack(
            [np.full(frames, side * 0.18), -0.45 - 0.16 * expr["brow_raise"] + 0.12 * expr["brow_slant"]], 1
        )
        outer = np.stack(
            [np.full(frames, side * 0.58), -0.47 - 0.16 * expr["brow_raise"] - 0.06 * expr["brow_slant"]], 1
        )
        brow = _segment_distance(u, v, inner, outer) - 0.045
        _paint(canvas, _coverage(brow, soft), dark)

    half_w = 0.34
    across = np.clip(u / half_w, -1.0, 1.0)
    curve = expr["curve"][:, None, None]
    centre = 0.5 + 0.16 * curve * (1.0 - across**2) - 0.08 * curve  # smile: middle lower than the corners
    half_h = (0.025 + 0.16 * expr["open"])[:, None, None] * np.sqrt(1.0 - across**2)
    mouth = np.maximum(np.abs(v - centre) - half_h, np.abs(u) - half_w)
    _paint(canvas, _coverage(mouth, soft), np.array([120.0, 20.0, 30.0]))
    return canvas


def _expression(label: int, frames: int, rhythm: dict[str, float]) -> dict[str, np.ndarray]:
    """Per-frame expression parameters of a class (curve, open, eye_open, brow_raise, brow_slant)."""
    t = np.linspace(0.0, 1.0, frames)
    zero, one = np.zeros(frames), np.ones(frames)
    expr = {"curve": zero, "open": 0.1 * one, "eye_open": one, "brow_raise": zero, "brow_slant": zero}
    onset = rhythm["onset"]
    if label in (0, 1):  # smile forming (class 1 = reversed frames, done by the caller)
        ramp = _smoothstep((t - onset) / 0.5)
        expr.update(curve=ramp, open=0.05 + 0.25 * ramp, eye_open=1.0 - 0.25 * ramp)
    elif label in (2, 3):  # talking, neutral mouth shape
        expr.update(open=0.15 + 0.35 * (0.5 + 0.5 * np.sin(2 * math.pi * (rhythm["syllables"] * t + rhythm["phase"]))))
    elif label == 4:  # surprise
        ramp = _smoothstep((t - onset) / 0.3)
        expr.update(open=0.1 + 0.8 * ramp, eye_open=1.0 + 0.5 * ramp, brow_raise=ramp, curve=-0.1 * ramp)
    elif label == 5:  # anger
        ramp = _smoothstep((t - onset) / 0.4)
        expr.update(curve=-0.8 * ramp, eye_open=1.0 - 0.45 * ramp, brow_slant=ramp, open=0.05 + 0.05 * ramp)
    return expr


def _voice(label: int, cfg: SyntheticConfig, voice: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    """float32 (N,) harmonic voice whose pitch/energy contour follows the class."""
    sr, n = cfg.sample_rate, cfg.num_samples
    t = np.arange(n) / sr
    progress = t / cfg.seconds
    base = voice["pitch"]
    if label == 2:
        f0 = base * 2.0 ** (0.8 * (progress - 0.5))
    elif label == 3:
        f0 = base * 2.0 ** (0.8 * (0.5 - progress))
    elif label == 5:
        f0 = 0.75 * base * (1.0 + 0.02 * np.sin(2 * math.pi * 6.0 * t))
    else:
        f0 = base * (1.0 + 0.03 * np.sin(2 * math.pi * 5.0 * t + voice["phase"]))
    phase = 2 * math.pi * np.cumsum(f0) / sr
    tilt = 0.5 if label == 5 else voice["tilt"]  # harsh voice: slowly decaying harmonics
    wave = sum(k**-tilt * np.sin(k * phase) for k in range(1, 7))
    envelope = 0.55 + 0.45 * np.sin(2 * math.pi * (voice["syllables"] * progress + voice["phase"])) ** 2
    if label == 4:
        envelope = envelope * (1.0 + 2.5 * np.exp(-(((progress - voice["onset"] - 0.1) / 0.06) ** 2)))
    fade = np.minimum(1.0, np.minimum(t, cfg.seconds - t) / 0.02)
    wave = wave * envelope * fade
    wave = wave / np.abs(wave).max() * 0.5 + voice["noise"] * rng.standard_normal(n)
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def _nuisance(
    pair_rng: np.random.Generator, amount: float = 1.0
) -> tuple[dict[str, Any], dict[str, float], dict[str, Any]]:
    def spread(low: float, high: float, size: int | None = None) -> Any:
        # the same draws at every `amount`, shrunk towards the middle of the range
        mid = 0.5 * (low + high)
        return mid + amount * (pair_rng.uniform(low, high, size) - mid)

    look = {
        "dx": spread(-0.07, 0.07),
        "dy": spread(-0.05, 0.05),
        "drift_x": spread(-0.04, 0.04),
        "drift_y": spread(-0.03, 0.03),
        "scale": spread(0.85, 1.1),
        "skin": np.array([220.0, 180.0, 150.0]) * spread(0.7, 1.05) + spread(-15, 15, 3),
        "background": spread(30.0, 200.0, 3),
    }
    rhythm = {
        "onset": pair_rng.uniform(0.1, 0.35),
        "syllables": pair_rng.uniform(3.0, 5.0),
        "phase": pair_rng.uniform(),
    }
    voice = {
        "pitch": pair_rng.uniform(110.0, 240.0),
        "tilt": pair_rng.uniform(1.0, 1.6),
        "syllables": pair_rng.uniform(3.0, 6.0),
        "phase": pair_rng.uniform(0.0, 2 * math.pi),
        "onset": rhythm["onset"],
        "noise": pair_rng.uniform(0.003, 0.02),
    }
    return look, rhythm, voice


ACTION_NAMES = ("curve", "open", "eye_open", "brow_raise", "brow_slant")


def expression_track(label: int, index: int, seed: int, config: SyntheticConfig | None = None) -> np.ndarray:
    """float32 (T, len(ACTION_NAMES)): the per-frame facial-action parameters that drew clip ``index`` of class
    ``label`` (frame order as in the clip). Useful as frame-level targets, like action-unit intensities."""
    cfg = config or SyntheticConfig()
    group = _PAIR_OF[label]
    _, rhythm, _ = _nuisance(np.random.default_rng([seed, group, index]), cfg.nuisance)
    expr = _expression(label, cfg.num_frames, rhythm)
    track = np.stack([np.asarray(expr[name], dtype=np.float64) for name in ACTION_NAMES], axis=1)
    return (track[::-1] if label == 1 else track).astype(np.float32).copy()


def speaker_traits(label: int, index: int, seed: int, config: SyntheticConfig | None = None) -> np.ndarray:
    """float32 (3,): the clip's voice as a speaker-recognition model would see it -- log mean pitch, harmonic tilt,
    harshness -- with nothing about intonation (the pitch glide of classes 2/3 is centred on the mean pitch)."""
    cfg = config or SyntheticConfig()
    _, _, voice = _nuisance(np.random.default_rng([seed, _PAIR_OF[label], index]), cfg.nuisance)
    harsh = label == 5  # the 'anger' voice of _voice: lower and with slowly decaying harmonics
    pitch = voice["pitch"] * (0.75 if harsh else 1.0)
    tilt = 0.5 if harsh else voice["tilt"]
    return np.array([math.log(pitch), tilt, float(harsh)], dtype=np.float32)


def synthesize_clip(
    label: int, index: int, seed: int, config: SyntheticConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Raw clip ``index`` of class ``label``: uint8 frames (T, S, S, 3) and float32 waveform (N,).

    Pure function of its arguments; clips of paired classes (0/1, 2/3) with the same index share their draws.
    """
    cfg = config or SyntheticConfig()
    if not 0 <= label < len(SYNTHETIC_CLASSES):
        raise ConfigError(f"label must lie in [0, {len(SYNTHETIC_CLASSES)}), got {label}")
    group = _PAIR_OF[label]
    pair_rng = np.random.default_rng([seed, group, index])
    look, rhythm, voice = _nuisance(pair_rng, cfg.nuisance)
    noise_rng = np.random.default_rng([seed, group, index, 1])
    frames = _draw_faces(_expression(label, cfg.num_frames, rhythm), look, cfg.size)
    frames = frames + cfg.pixel_noise * noise_rng.standard_normal(frames.shape)
    video = np.clip(np.rint(frames), 0, 255).astype(np.uint8)  # (T, S, S, 3)
    if label == 1:
        video = video[::-1].copy()
    audio = _voice(0 if label == 1 else label, cfg, voice, np.random.default_rng([seed, group, index, 2]))
    return video, audio


def _encode_mp4(path: Path, video: np.ndarray, audio: np.ndarray, cfg: SyntheticConfig) -> None:
    import av  # local: keeps `import mmadapt.data` (which re-exports this module) light

    with av.open(str(path), mode="w", format="mp4") as container:
        # Near-transparent quality: the nuisance pixel noise should survive encoding.
        options = {"preset": "veryfast", "crf": "18"} if cfg.video_codec == "libx264" else {"qmin": "1", "qmax": "3"}
        v_stream = container.add_stream(cfg.video_codec, rate=cfg.fps, options=options)
        v_stream.width = v_stream.height = cfg.size
        v_stream.pix_fmt = "yuv420p"
        # PyAV turns on automatic slice threads, which make x264's output vary from run to run.
        v_stream.codec_context.thread_count = 1
        v_stream.codec_context.thread_type = "NONE"
        a_stream = container.add_stream(cfg.audio_codec, rate=cfg.sample_rate, layout="mono")
        for image in video:
            for packet in v_stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in v_stream.encode():
            container.mux(packet)
        fmt = a_stream.codec_context.codec.audio_formats[0].name  # fltp for aac, s16 for pcm
        samples = (np.rint(audio * 32767).astype(np.int16) if fmt.startswith("s16") else audio)[None]  # (1, N)
        chunk = a_stream.codec_context.frame_size or 1024
        for start in range(0, samples.shape[1], chunk):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples[:, start : start + chunk]), format=fmt, layout="mono"
            )
            frame.sample_rate = cfg.sample_rate
            frame.pts = start
            for packet in a_stream.encode(frame):
                container.mux(packet)
        for packet in a_stream.encode():
            container.mux(packet)


ClipSynthesizer = Callable[[int, int, int, SyntheticConfig], tuple[np.ndarray, np.ndarray]]
"""``(label, index, seed, config) -> (uint8 frames (T, S, S, 3), float32 waveform (N,))``, like
:func:`synthesize_clip`."""


def make_synthetic_dataset(
    out_dir: str | os.PathLike[str],
    n_per_class: int = 32,
    seed: int = 0,
    config: SyntheticConfig | None = None,
    *,
    synthesize: ClipSynthesizer = synthesize_clip,
    classes: tuple[str, ...] = SYNTHETIC_CLASSES,
    cues: Mapping[str, str] = CLASS_CUES,
) -> SyntheticDataset:
    """Write ``n_per_class`` mp4 clips per class, ``train.csv``/``test.csv`` and ``classes.json`` under ``out_dir``.

    The same (n_per_class, seed, config) gives byte-identical files (with the default mpeg4 video codec). Clip
    indices split train/test, so paired clips of classes 0/1 and 2/3 always land in the same split. Another scene
    passes its own ``synthesize``, ``classes`` and ``cues`` (e.g. :mod:`mmadapt.demo.scene_speakers`).
    """
    cfg = config or SyntheticConfig()
    if n_per_class < 2:
        raise ConfigError(f"n_per_class must be >= 2 (one train and one test clip), got {n_per_class}")
    root = Path(out_dir)
    n_test = min(n_per_class - 1, max(1, round(n_per_class * cfg.test_fraction)))
    rows: dict[str, list[str]] = {"train": [], "test": []}
    for index in range(n_per_class):
        split = "train" if index < n_per_class - n_test else "test"
        for label, name in enumerate(classes):
            video, audio = synthesize(label, index, seed, cfg)
            rel = Path("clips") / split / f"{name}_{index:04d}.mp4"
            with atomic_path(root / rel) as tmp:
                _encode_mp4(tmp, video, audio, cfg)
            rows[split].append(f"{rel.as_posix()},{label}")
    manifests = {}
    for split, lines in rows.items():
        manifests[split] = root / f"{split}.csv"
        text = "video,label\n" + "\n".join(lines) + "\n"
        with atomic_path(manifests[split]) as tmp:
            tmp.write_text(text, encoding="utf-8")
    classes_file = atomic_write_json(
        root / "classes.json",
        {
            "classes": list(classes),
            "cues": dict(cues),
            "n_per_class": n_per_class,
            "seed": seed,
            "config": asdict(cfg),
        },
    )
    return SyntheticDataset(root, manifests["train"], manifests["test"], classes_file, tuple(classes))


def load_class_names(classes_file: str | os.PathLike[str]) -> tuple[str, ...]:
    """Class names (label order) from a ``classes.json`` written by :func:`make_synthetic_dataset`."""
    return tuple(json.loads(Path(classes_file).read_text(encoding="utf-8"))["classes"])
