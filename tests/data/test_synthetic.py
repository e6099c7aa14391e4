"""The synthetic dataset is deterministic, decodable, and its class pairs differ only in the designed cue."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mmadapt.data.decode import decode_media
from mmadapt.demo.scenes import (
    SYNTHETIC_CLASSES,
    SyntheticConfig,
    SyntheticDataset,
    load_class_names,
    make_synthetic_dataset,
    synthesize_clip,
)
from mmadapt.errors import ConfigError
from tests.data._media import TINY


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    again = make_synthetic_dataset(tmp_path / "again", n_per_class=2, seed=3, config=TINY)
    assert _files(again.root) == _files(synthetic.root)
    other = make_synthetic_dataset(tmp_path / "other", n_per_class=2, seed=4, config=TINY)
    assert _files(other.root)["clips/train/anger_0000.mp4"] != _files(synthetic.root)["clips/train/anger_0000.mp4"]


def test_manifests_and_class_file(synthetic: SyntheticDataset) -> None:
    for manifest, split in ((synthetic.train_manifest, "train"), (synthetic.test_manifest, "test")):
        with manifest.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(int(r["label"]) for r in rows) == list(range(6))
        assert all(r["video"].startswith(f"clips/{split}/") for r in rows)
    info = json.loads(synthetic.classes_file.read_text(encoding="utf-8"))
    assert tuple(info["classes"]) == SYNTHETIC_CLASSES == load_class_names(synthetic.classes_file)
    assert info["seed"] == 3 and info["config"]["size"] == 32


def test_every_clip_decodes_with_the_configured_geometry(synthetic: SyntheticDataset) -> None:
    clips = sorted((synthetic.root / "clips").rglob("*.mp4"))
    assert len(clips) == 12
    for path in clips:
        frames, track = decode_media(path)
        assert frames is not None and frames.frames.shape == (TINY.num_frames, 32, 32, 3)
        assert track is not None and track.sample_rate == 16_000 and track.waveform.shape == (1, TINY.num_samples)


def _dominant_pitch(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    freqs = np.fft.rfftfreq(audio.size, 1 / rate)
    band = (freqs > 60) & (freqs < 600)  # the fundamental range of the synthetic voices
    return float(freqs[band][np.argmax(spectrum[band])])


@pytest.mark.parametrize("index", [0, 1, 5])
def test_audio_only_pair_has_identical_video_and_opposite_pitch_contours(index: int) -> None:
    rising_v, rising_a = synthesize_clip(2, index, seed=0)
    falling_v, falling_a = synthesize_clip(3, index, seed=0)
    np.testing.assert_array_equal(rising_v, falling_v)
    assert not np.allclose(rising_a, falling_a)
    quarter = rising_a.size // 4
    rate = SyntheticConfig().sample_rate
    up = _dominant_pitch(rising_a[-quarter:], rate) / _dominant_pitch(rising_a[:quarter], rate)
    down = _dominant_pitch(falling_a[-quarter:], rate) / _dominant_pitch(falling_a[:quarter], rate)
    assert up > 1.2 and down < 1 / 1.2, (up, down)


@pytest.mark.parametrize("index", [0, 3])
def test_temporal_pair_is_a_frame_reversal_with_the_same_audio(index: int) -> None:
    forming_v, forming_a = synthesize_clip(0, index, seed=0)
    fading_v, fading_a = synthesize_clip(1, index, seed=0)
    np.testing.assert_array_equal(fading_v, forming_v[::-1])
    np.testing.assert_array_equal(fading_a, forming_a)
    assert not np.array_equal(forming_v[0], forming_v[-1])  # the order carries information


def test_encoded_audio_pair_decodes_to_identical_video(synthetic: SyntheticDataset) -> None:
    clips = synthetic.root / "clips" / "test"
    rising, r_audio = decode_media(clips / "voice_rising_0001.mp4")
    falling, f_audio = decode_media(clips / "voice_falling_0001.mp4")
    assert rising is not None and falling is not None and r_audio is not None and f_audio is not None
    np.testing.assert_array_equal(rising.frames, falling.frames)
    assert np.abs(r_audio.waveform - f_audio.waveform).mean() > 0.01


def test_appearance_classes_differ_in_their_last_frames() -> None:
    frames = [synthesize_clip(label, 0, seed=0)[0][-1].astype(float) for label in (0, 4, 5)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert np.abs(frames[a] - frames[b]).mean() > 1.0


def test_nuisance_varies_between_clips_of_a_class() -> None:
    a, _ = synthesize_clip(4, 0, seed=0)
    b, _ = synthesize_clip(4, 1, seed=0)
    assert np.abs(a.astype(float) - b).mean() > 10.0


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_synthetic_dataset(tmp_path, n_per_class=1)
    with pytest.raises(ConfigError):
        synthesize_clip(6, 0, seed=0)
    for bad in ({"size": 33}, {"video_codec": "vp9"}, {"audio_codec": "flac"}, {"test_fraction": 1.0}):
        with pytest.raises(ConfigError):
            SyntheticConfig(**bad)  # type: ignore[arg-type]


def test_frame_level_targets_follow_the_clip():
    """expression_track / speaker_traits describe the clip synthesize_clip draws, for pretraining targets."""
    from mmadapt.demo.scenes import ACTION_NAMES, expression_track, speaker_traits

    forming, fading = expression_track(0, 2, seed=1), expression_track(1, 2, seed=1)
    assert forming.shape == (SyntheticConfig().num_frames, len(ACTION_NAMES))
    np.testing.assert_array_equal(fading, forming[::-1])
    curve = forming[:, ACTION_NAMES.index("curve")]
    assert curve[0] < 0.05 and curve[-1] > 0.95  # the smile forms
    # intonation is not a speaker trait: rising and falling voices of one speaker look alike
    np.testing.assert_array_equal(speaker_traits(2, 3, seed=1), speaker_traits(3, 3, seed=1))
    assert speaker_traits(5, 3, seed=1)[2] == 1.0 and speaker_traits(4, 3, seed=1)[2] == 0.0
