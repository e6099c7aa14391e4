"""The ``speakers`` scene's defining property, checked on its pixels and samples: both classes of a pair are the
same video, the voice is pitched for the face that shows the label, the silent face shows the partner class, the
video pretraining's targets cannot tell the pair's classes apart, and everything is a pure function of the seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.data.transforms import ClipTransform
from mmadapt.demo.config import DemoConfig
from mmadapt.demo.scene_speakers import (
    MIN_TONE_GAP,
    SPEAKER_CLASSES,
    face_actions,
    make_speakers_dataset,
    partner,
    pitch_of_tone,
    pretraining_example,
    skin_of_tone,
    speakers_layout,
    synthesize_speakers_clip,
)
from mmadapt.demo.scenes import SyntheticConfig
from mmadapt.errors import ConfigError
from mmadapt.recipe.experiment import ExperimentConfig
from mmadapt.study import StudyConfig, run_study
from mmadapt.study.synthetic import SCENE_PRETRAINING, SCENES

from ..demo.test_demo import TINY as DEMO_TINY

CFG = SyntheticConfig(size=32, fps=8, seconds=1.0, nuisance=0.3)
"""Tiny clips: 8 frames of 32 px, one second of audio."""
PAIRS = [(0, 1), (2, 3)]


def _f0(wave: np.ndarray, sample_rate: int) -> float:
    """The strongest frequency of the waveform (the fundamental: the voice's harmonics decay as k**-tilt)."""
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    freqs = np.fft.rfftfreq(len(wave), 1.0 / sample_rate)
    band = (freqs > 60) & (freqs < 400)
    return float(freqs[band][spectrum[band].argmax()])


def _pixel_tone(frame: np.ndarray, side: int, size: int) -> float:
    """The tone of the face on ``side`` read from the skin at its centre (between the eyes and the mouth)."""
    y, x = round(0.52 * size), size // 4 + side * size // 2
    rgb = np.median(frame[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).astype(float), axis=0)
    lo, hi = skin_of_tone(0.0), skin_of_tone(1.0)
    return float(np.mean((rgb - lo) / (hi - lo)))


def _mouth_pixels(frame: np.ndarray, side: int, size: int) -> int:
    """Mouth-coloured (dark red) pixels in one half of a frame."""
    half = frame[:, side * size // 2 : (side + 1) * size // 2].astype(int)
    r, g, b = half[..., 0], half[..., 1], half[..., 2]
    return int(((r - g > 60) & (r - b > 50)).sum())


@pytest.mark.parametrize(("a", "b"), PAIRS)
@pytest.mark.parametrize("index", [0, 1, 2])
def test_both_classes_of_a_pair_are_the_same_video_with_the_other_voice(a, b, index):
    video_a, audio_a = synthesize_speakers_clip(a, index, 0, CFG)
    video_b, audio_b = synthesize_speakers_clip(b, index, 0, CFG)
    assert video_a.shape == (CFG.num_frames, CFG.size, CFG.size, 3) and video_a.dtype == np.uint8
    assert np.array_equal(video_a, video_b)  # video alone cannot tell the two labels apart
    faces = speakers_layout(a, index, 0, CFG).faces
    # swapping the voice swaps the label: each class's voice is pitched for the face showing it
    for label, audio in ((a, audio_a), (b, audio_b)):
        shown_by = next(f for f in faces if f.expression == label)
        assert _f0(audio, CFG.sample_rate) == pytest.approx(pitch_of_tone(shown_by.tone), rel=0.05)


@pytest.mark.parametrize("label", range(len(SPEAKER_CLASSES)))
@pytest.mark.parametrize("index", [0, 3])
def test_the_voice_names_the_face_whose_pixels_match_its_pitch(label, index):
    """Read on the raw pixels and samples only: the face whose skin tone the pitch implies shows ``label``."""
    video, audio = synthesize_speakers_clip(label, index, 1, CFG)
    heard = np.log2(_f0(audio, CFG.sample_rate) / pitch_of_tone(0.0)) / np.log2(pitch_of_tone(1.0) / pitch_of_tone(0))
    seen = [_pixel_tone(video[0], side, CFG.size) for side in (0, 1)]
    speaker_side = int(np.argmin([abs(t - heard) for t in seen]))
    assert abs(seen[0] - seen[1]) > MIN_TONE_GAP / 2
    layout = speakers_layout(label, index, 1, CFG)
    assert next(f for f in layout.faces if f.side == speaker_side).expression == label


@pytest.mark.parametrize("index", [0, 1, 2])
def test_the_silent_face_shows_the_partner_class_on_the_pixels(index):
    """Surprise opens the mouth wide, anger presses it thin: in every surprise/anger clip the surprise face's half
    of the last frame holds more mouth pixels, whichever of the two faces speaks."""
    size = 64
    cfg = SyntheticConfig(size=size, fps=8, seconds=1.0, nuisance=0.3)
    for label in (0, 1):
        video, _ = synthesize_speakers_clip(label, index, 0, cfg)
        layout = speakers_layout(label, index, 0, cfg)
        speaker, silent = layout.faces[layout.speaker], layout.faces[1 - layout.speaker]
        assert (speaker.expression, silent.expression) == (label, partner(label))
        surprise = next(f for f in layout.faces if SPEAKER_CLASSES[f.expression] == "surprise")
        counts = [_mouth_pixels(video[-1], side, size) for side in (0, 1)]
        assert counts[surprise.side] > 1.5 * counts[1 - surprise.side]


@settings(max_examples=60, deadline=None)
@given(label=st.integers(0, len(SPEAKER_CLASSES) - 1), index=st.integers(0, 10_000), seed=st.integers(0, 2**31))
def test_layout_invariants(label, index, seed):
    layout = speakers_layout(label, index, seed, CFG)
    other = speakers_layout(partner(label), index, seed, CFG)
    faces = layout.faces
    assert layout.label == label and faces[1 - layout.speaker].expression == partner(label)
    assert {f.side for f in faces} == {0, 1}
    assert abs(faces[0].tone - faces[1].tone) >= MIN_TONE_GAP
    assert all(0.0 <= f.tone <= 1.0 for f in faces)
    assert layout.voice["pitch"] == pitch_of_tone(faces[layout.speaker].tone)
    # the partner's clip: the same faces, the other speaker, the same voice apart from its pitch
    assert other.speaker == 1 - layout.speaker
    assert [(f.expression, f.tone, f.side) for f in other.faces] == [(f.expression, f.tone, f.side) for f in faces]
    assert {k: v for k, v in other.voice.items() if k != "pitch"} == {
        k: v for k, v in layout.voice.items() if k != "pitch"
    }


def test_the_video_pretraining_targets_are_the_same_for_both_classes_of_a_pair():
    """The sum of both faces' actions -- what the video backbone learns -- is label-blind within a pair."""
    for a, b in PAIRS:
        sums = [sum(face_actions(f, CFG.num_frames) for f in speakers_layout(c, 5, 0, CFG).faces) for c in (a, b)]
        assert np.array_equal(sums[0], sums[1])
    rng = np.random.default_rng(0)
    example = pretraining_example(3, 7, CFG, rng)
    faces_sum = example.actions
    assert example.frames.shape == (CFG.num_frames, CFG.size, CFG.size, 3)
    assert faces_sum.shape == (CFG.num_frames, 5) and example.voice.shape == (2,)
    assert example.voice[0] == pytest.approx(np.log(_f0(example.wave, CFG.sample_rate)), abs=0.05)
    again = pretraining_example(3, 7, CFG, np.random.default_rng(0))
    assert all(np.array_equal(x, y) for x, y in zip(example, again, strict=True))


def test_clips_are_a_pure_function_of_label_index_and_seed():
    first = synthesize_speakers_clip(2, 4, 5, CFG)
    again = synthesize_speakers_clip(2, 4, 5, CFG)
    other_seed = synthesize_speakers_clip(2, 4, 6, CFG)
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other_seed[0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: synthesize_speakers_clip(0, 0, 0, SyntheticConfig(size=34)), "divisible by 4"),
        (lambda: speakers_layout(4, 0, 0, CFG), "label must lie in [0, 4)"),
    ],
)
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ConfigError) as err:
        call()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_the_dataset_writer_pairs_clips_in_one_split(tmp_path):
    data = make_speakers_dataset(tmp_path, n_per_class=3, seed=0, config=CFG)
    assert data.class_names == SPEAKER_CLASSES
    assert json.loads(data.classes_file.read_text())["classes"] == list(SPEAKER_CLASSES)
    test_rows = data.test_manifest.read_text().splitlines()[1:]
    assert sorted(int(r.split(",")[1]) for r in test_rows) == [0, 1, 2, 3]  # clip 2 of every class
    assert all("_0002.mp4" in r for r in test_rows)


@pytest.mark.slow
def test_a_study_on_the_scene_pretrains_with_its_hook_and_runs_every_fusion_kind(tmp_path, monkeypatch):
    """The study finds the scene and its pretraining draw; presets of other fusion kinds than the demo's typed
    mean-bottleneck override keep their own sizes (before the fix: 'unknown keys ... latent_dim')."""
    assert "speakers" in SCENES and "speakers" in SCENE_PRETRAINING
    calls = []
    draw = SCENE_PRETRAINING.get("speakers")
    monkeypatch.setitem(SCENE_PRETRAINING._loaded(), "speakers", lambda *a: calls.append(a[0]) or draw(*a))
    tiny = {k: v for k, v in DEMO_TINY.items() if k != "epochs"}
    study = StudyConfig(
        out_dir=str(tmp_path / "s"),
        presets=("mma-dfer", "mma-dfer-fusion-mult"),
        seeds=(0,),
        synthetic="speakers",
        epochs=1,
        threads=1,
        demo=DemoConfig(**tiny),
    )
    result = run_study(study, progress=False)
    assert calls == list(range(tiny["pretrain_clips"]))
    assert result.summary["cells"] == 2
    # the cells train on the clips as they are: no crop (it loses a face), no brightness (it changes the tones)
    experiment = ExperimentConfig.load(tmp_path / "s" / "experiment.yaml")
    transform = experiment.data.for_split("train").transform
    frames, _ = synthesize_speakers_clip(0, 0, 0, SyntheticConfig(size=transform.img_size))
    augmented = ClipTransform(transform, train=True)(frames, torch.Generator().manual_seed(0))
    assert torch.equal(augmented, ClipTransform(transform, train=False)(frames))
    for cell in ("mma-dfer", "mma-dfer-fusion-mult"):  # before: the expressions scene's six class names
        record = json.loads((tmp_path / "s" / "cells" / cell / "seed_0.json").read_text())
        assert list(record["per_class_recall"]) == list(SPEAKER_CLASSES)
    assert set(json.loads((tmp_path / "s" / "data" / "classes.json").read_text())["classes"]) == set(SPEAKER_CLASSES)
