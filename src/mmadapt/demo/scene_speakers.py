"""The ``speakers`` scene: two faces in view, one voice, and the label is the expression of the face that speaks.

Built so that the label can only be read by binding the audio to particular video tokens:

- Two faces side by side, each with its own skin tone ``u`` in [0, 1] (0 darkest), drawn per clip with the two
  tones at least :data:`MIN_TONE_GAP` apart, and sides drawn per clip. The voice's pitch is a fixed function of
  the *speaker's* tone (:func:`pitch_of_tone`: darker face, lower voice); nothing else in the audio depends on the
  clip's classes.
- Classes come in partner pairs (surprise/anger, smile/neutral): in clip ``j`` of a pair the two faces show the
  pair's two expressions, and the label is the one on the speaker's face. Clip ``j`` of both classes of a pair is
  one draw: **identical pixels**, only the voice differs (it is pitched for the other face). So video alone tells
  the pair, never the class; audio alone tells a tone, never a class; only "the expression of the face whose tone
  matches the pitch" does.
- Why the earlier two-face attempt (docs/experiments.md) failed, and what differs here: its darker/paler faces
  were two fixed roles, so prompts could learn "the darker face's expression" once and the head combine it with the
  voice register late, without fusion. Here the tones are continuous and per clip: no fixed face role exists, and
  a late combination needs the pooled video features to keep each face's exact tone tied to its expression, while
  inside the encoder it is a local match between a token's colour and the voice. The video backbone is pretrained
  (:func:`pretraining_example`) on the *sum* of both faces' actions, which is the same for both classes of a pair
  and says nothing of tone or side; the audio backbone on the speaker's traits (log pitch, harmonic tilt).

Drawing and encoding reuse :mod:`.scenes`: each face is drawn by its face renderer on a full frame at
:data:`FACE_SCALE` and the frame's middle half-width strip kept, the two strips side by side.

Shape legend: T frames, S frame side, N audio samples.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from .scenes import (
    ACTION_NAMES,
    SYNTHETIC_CLASSES,
    SyntheticConfig,
    SyntheticDataset,
    _draw_faces,
    _expression,
    _nuisance,
    _voice,
    make_synthetic_dataset,
)

if TYPE_CHECKING:
    from .driver import PretrainExample

__all__ = [
    "FACE_SCALE",
    "MIN_TONE_GAP",
    "SPEAKER_CLASSES",
    "SPEAKER_CUES",
    "Face",
    "SpeakersLayout",
    "face_actions",
    "make_speakers_dataset",
    "partner",
    "pitch_of_tone",
    "pretraining_example",
    "skin_of_tone",
    "speakers_layout",
    "synthesize_speakers_clip",
]

SPEAKER_CLASSES = ("surprise", "anger", "smile", "neutral")
"""Partner pairs (0, 1) and (2, 3): the silent face always shows the speaker's partner class."""
SPEAKER_CUES = {name: "the expression of the face whose tone matches the voice" for name in SPEAKER_CLASSES}
_NEUTRAL = len(SYNTHETIC_CLASSES)  # scenes._expression draws no action for a label beyond its six
_EXPRESSION_OF = {0: 4, 1: 5, 2: 0, 3: _NEUTRAL}
"""Scene class -> the label of :func:`mmadapt.demo.scenes._expression` that draws it (smile: the forming smile)."""
_STEADY_VOICE = 0  # scenes._voice: a steady voice (no glide, burst or harshness)
_STREAM = 0x5EA7  # keeps this scene's random streams apart from the expressions scene's

FACE_SCALE = 0.55
"""Face size relative to the expressions scene's, so that a face fits its half of the frame."""
MIN_TONE_GAP = 0.35
"""Least tone difference between the two faces: which of them the pitch names stays clear."""
_SKIN = np.array([220.0, 180.0, 150.0])
_DARKEST, _PALEST = 0.45, 1.05  # skin = _SKIN * (darkest + (palest - darkest) * tone)
_LOWEST_PITCH, _OCTAVES = 95.0, 1.3  # pitch = lowest * 2 ** (octaves * tone): 95-233 Hz


def partner(label: int) -> int:
    """The class the silent face shows when ``label``'s face speaks."""
    return label ^ 1


def skin_of_tone(tone: float) -> np.ndarray:
    """RGB skin colour (0-255) of a face of ``tone``."""
    return _SKIN * (_DARKEST + (_PALEST - _DARKEST) * tone)


def pitch_of_tone(tone: float) -> float:
    """Base pitch (Hz) of the voice of a face of ``tone``: darker faces speak lower."""
    return _LOWEST_PITCH * 2.0 ** (_OCTAVES * tone)


@dataclass(frozen=True)
class Face:
    """One face of a clip: the class it shows, its tone, its side (0 left, 1 right), look and timing."""

    expression: int
    tone: float
    side: int
    look: dict[str, Any]
    rhythm: dict[str, float]


@dataclass(frozen=True)
class SpeakersLayout:
    """Everything a clip is drawn from: two faces, which one speaks, and the voice's other traits."""

    faces: tuple[Face, Face]
    speaker: int
    """Index into ``faces`` of the face that speaks (its tone sets the pitch)."""
    voice: dict[str, Any]

    @property
    def label(self) -> int:
        return self.faces[self.speaker].expression


def _check(cfg: SyntheticConfig) -> None:
    if cfg.size % 4:
        raise ConfigError(
            f"the speakers scene needs a frame side divisible by 4 (two half-width faces), got {cfg.size}"
        )


def _tones(rng: np.random.Generator) -> tuple[float, float]:
    """Two tones at least MIN_TONE_GAP apart, in random order."""
    low = rng.uniform(0.0, 1.0 - MIN_TONE_GAP)
    high = rng.uniform(low + MIN_TONE_GAP, 1.0)
    return (low, high) if rng.uniform() < 0.5 else (high, low)


def _layout(expressions: tuple[int, int], speaker: int, rng: np.random.Generator, amount: float) -> SpeakersLayout:
    """Faces showing ``expressions`` (in face order), tones and sides and looks from ``rng``."""
    tones = _tones(rng)
    first_side = int(rng.integers(2))
    faces = []
    for i, expression in enumerate(expressions):
        look, rhythm, _ = _nuisance(rng, amount)
        look = {**look, "scale": look["scale"] * FACE_SCALE, "skin": skin_of_tone(tones[i])}
        faces.append(Face(expression, float(tones[i]), first_side ^ i, look, rhythm))
    _, _, voice = _nuisance(rng, amount)
    voice = {**voice, "pitch": pitch_of_tone(tones[speaker])}
    return SpeakersLayout((faces[0], faces[1]), speaker, voice)


def speakers_layout(label: int, index: int, seed: int, config: SyntheticConfig | None = None) -> SpeakersLayout:
    """The layout of clip ``index`` of class ``label``: the same faces for both classes of a pair, the speaker
    being the face that shows ``label``."""
    cfg = config or SyntheticConfig()
    if not 0 <= label < len(SPEAKER_CLASSES):
        raise ConfigError(f"label must lie in [0, {len(SPEAKER_CLASSES)}), got {label}")
    pair = label - label % 2
    rng = np.random.default_rng([seed, _STREAM, pair, index])
    return _layout((pair, pair + 1), label - pair, rng, cfg.nuisance)


def face_actions(face: Face, frames: int) -> np.ndarray:
    """float64 (T, len(ACTION_NAMES)): the per-frame facial actions of ``face``."""
    expr = _expression(_EXPRESSION_OF[face.expression], frames, face.rhythm)
    return np.stack([np.broadcast_to(np.asarray(expr[name], dtype=np.float64), (frames,)) for name in ACTION_NAMES], 1)


def _render(layout: SpeakersLayout, cfg: SyntheticConfig, noise_rng: np.random.Generator) -> np.ndarray:
    """uint8 (T, S, S, 3): each face drawn on a full frame, its middle half-width strip kept, left then right."""
    size, quarter = cfg.size, cfg.size // 4
    background = layout.faces[0].look["background"]
    strips: list[np.ndarray] = [np.empty(0), np.empty(0)]
    for face in layout.faces:
        expr = _expression(_EXPRESSION_OF[face.expression], cfg.num_frames, face.rhythm)
        canvas = _draw_faces(expr, {**face.look, "background": background}, size)  # (T, S, S, 3)
        strips[face.side] = canvas[:, :, quarter : size - quarter]  # (T, S, S/2, 3)
    frames = np.concatenate(strips, axis=2)  # (T, S, S, 3)
    frames = frames + cfg.pixel_noise * noise_rng.standard_normal(frames.shape)
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def synthesize_speakers_clip(
    label: int, index: int, seed: int, config: SyntheticConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Raw clip ``index`` of class ``label``: uint8 frames (T, S, S, 3) and float32 waveform (N,).

    Pure function of its arguments; both classes of a pair share clip ``index``'s pixels exactly.
    """
    cfg = config or SyntheticConfig()
    _check(cfg)
    layout = speakers_layout(label, index, seed, cfg)
    pair = label - label % 2
    video = _render(layout, cfg, np.random.default_rng([seed, _STREAM, pair, index, 1]))
    audio = _voice(_STEADY_VOICE, cfg, layout.voice, np.random.default_rng([seed, _STREAM, pair, index, 2]))
    return video, audio


def pretraining_example(k: int, seed: int, cfg: SyntheticConfig, rng: np.random.Generator) -> PretrainExample:
    """The scene's unimodal pretraining clip ``k`` (its :data:`~mmadapt.demo.driver.PretrainDraw`): two faces
    with independently drawn classes and a random speaker; video targets are the *sum* of both faces' per-frame
    actions (blind to who is where and to tone), audio targets the speaker's traits (log pitch, harmonic tilt)."""
    from .driver import PretrainExample  # local: the driver imports torch

    _check(cfg)
    expressions = (int(rng.integers(len(SPEAKER_CLASSES))), int(rng.integers(len(SPEAKER_CLASSES))))
    layout = _layout(expressions, int(rng.integers(2)), np.random.default_rng([seed, _STREAM, k]), cfg.nuisance)
    video = _render(layout, cfg, np.random.default_rng([seed, _STREAM, k, 1]))
    audio = _voice(_STEADY_VOICE, cfg, layout.voice, np.random.default_rng([seed, _STREAM, k, 2]))
    actions = sum(face_actions(face, cfg.num_frames) for face in layout.faces)
    voice = np.array([math.log(layout.voice["pitch"]), layout.voice["tilt"]], dtype=np.float32)
    return PretrainExample(video, np.asarray(actions, dtype=np.float32), audio, voice)


def make_speakers_dataset(
    out_dir: str | os.PathLike[str], n_per_class: int = 32, seed: int = 0, config: SyntheticConfig | None = None
) -> SyntheticDataset:
    """Write the scene's mp4 clips and manifests, as :func:`mmadapt.demo.scenes.make_synthetic_dataset` does;
    clip ``j`` of both classes of a pair lands in the same split."""
    cfg = config or SyntheticConfig()
    _check(cfg)
    return make_synthetic_dataset(
        out_dir,
        n_per_class,
        seed,
        cfg,
        synthesize=synthesize_speakers_clip,
        classes=SPEAKER_CLASSES,
        cues=SPEAKER_CUES,
    )
