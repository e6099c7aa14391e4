"""predict_timeline: each window's probabilities are the one-clip prediction of that window's cut, faces are
tracked and reported (never invented), the audio follows the missing-audio policy and is resampled to the model's
rate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.data import ClipTransform, DataFileError, audio_features, decode_media, silent_features, test_indices
from mmadapt.data.faces import FaceCropConfig, square_box
from mmadapt.timeline import TimelineConfig, predict_timeline, window_schedule
from mmadapt.timeline.faces import FaceTracker
from mmadapt.timeline.stream import scan_video, stream_windows, window_frames

from ._media import FPS, SIZE, SQUARE, SquareDetector, square_frames, tone, write_av
from .conftest import FAMILIES, tiny_model

RATE = 16_000


def _moving(t: float) -> tuple[int, int]:
    """Top-left corner of a square drifting right and down across the frame."""
    step = int(t * FPS) % (SIZE - SQUARE)
    return step, (step * 2) % (SIZE - SQUARE)


def _reference(model, data, path, window) -> np.ndarray:
    """What the one-clip ``predict`` gives for [start, end) of ``path``: test sampling over the frames of the span,
    whole frames, the span's samples; computed from a full decode with the library's building blocks."""
    frames, track = decode_media(path)
    times = np.arange(frames.num_frames) / FPS
    inside = np.flatnonzero((times >= window.start - 1e-9) & (times < window.end - 1e-9))
    picked = [int(inside[j]) for j in test_indices(inside.size, data.num_frames)[0]]
    video = ClipTransform(data.transform)(frames.frames[picked])  # (T, 3, S, S)
    if track is None:
        audio = silent_features(data.audio)
    else:
        sr = track.sample_rate
        audio = audio_features(track.waveform[:, round(window.start * sr) : round(window.end * sr)], sr, data.audio)
    with torch.no_grad():
        logits = model(audio=audio[None], video=video[None])  # (1, C)
    return logits.softmax(dim=-1)[0].double().numpy()


@pytest.mark.parametrize("family", FAMILIES)
def test_each_window_equals_the_one_clip_prediction_of_its_cut(family, tmp_path):
    model, data = tiny_model(family)
    video = write_av(tmp_path / "v.mp4", square_frames(3.2, _moving), tone(3.2, RATE), RATE)
    cfg = TimelineConfig(window=1.0, stride=0.5, batch_size=3, detect_faces=False)
    timeline = predict_timeline(model, video, cfg, data=data, class_names=list("abcd"))
    windows = window_schedule(3.2, 1.0, 0.5)
    assert [(r.start, r.end) for r in timeline.rows] == [(w.start, w.end) for w in windows]
    for row, window in zip(timeline.rows, windows, strict=True):
        assert row.face_found is None and row.audio_present and row.frames == data.num_frames
        np.testing.assert_allclose(row.probabilities, _reference(model, data, video, window), atol=1e-5, rtol=0)
    assert timeline.sample_rate == RATE and timeline.has_audio and timeline.notes == []


def test_windows_without_a_face_are_reported_not_predicted(tmp_path):
    model, data = tiny_model("timm+timm")
    face = lambda t: None if 2.0 <= t < 4.0 else _moving(t)  # noqa: E731  no face in [2, 4)
    video = write_av(tmp_path / "v.mp4", square_frames(6.0, face), tone(6.0, RATE), RATE)
    cfg = TimelineConfig(window=1.0, stride=0.5)
    timeline = predict_timeline(model, video, cfg, data=data, detector=SquareDetector())
    pattern = [(r.start, r.end, r.face_found) for r in timeline.rows]
    for row in timeline.rows:
        assert row.face_found == (row.face_frames > 0)
        assert row.predicted == row.face_found  # probabilities only where a face was seen
        if row.start >= 2.0 and row.end <= 4.0:
            assert row.face_found is False and np.isnan(row.probabilities).all(), pattern
        if row.end <= 2.0 or row.start >= 4.0:
            assert row.face_found and row.face_frames == row.frames, pattern
            np.testing.assert_allclose(row.probabilities.sum(), 1.0, atol=1e-6)
    assert sum(r.face_found is False for r in timeline.rows) == 3  # [2, 3), [2.5, 3.5), [3, 4)
    assert "3 of 11 windows have no face" in " ".join(timeline.notes)


def _mark_miss(frames: np.ndarray, which: list[int]) -> np.ndarray:
    frames = frames.copy()
    frames[which, 0, 0] = 123  # the detector below reports these frames as misses
    return frames


def test_the_crop_follows_the_face_and_short_gaps_reuse_the_last_box():
    frames = _mark_miss(square_frames(2.0, _moving), [3, 10, 11, 12, 13, 14, 15])
    times = np.arange(len(frames)) / FPS
    detector = SquareDetector(miss=lambda image: image[0, 0, 0] == 123)
    tracker = FaceTracker(detector, FaceCropConfig(size=16), max_gap=0.25)
    box_of = {
        i: square_box((*_moving(t), _moving(t)[0] + SQUARE, _moving(t)[1] + SQUARE), SIZE, SIZE)
        for i, t in enumerate(times)
    }

    first = tracker.crops(list(range(0, 8)), times[:8], frames[:8])
    assert first.found and first.detected.tolist() == [True, True, True, False, True, True, True, True]
    assert [tuple(b) for b in first.boxes] == [box_of[i] if i != 3 else box_of[2] for i in range(8)]  # gap: frame 2
    assert (first.crops[[0, 1, 2, 4]] == 255).all()  # detected frames crop exactly the square

    later = tracker.crops(list(range(12, 20)), times[12:20], frames[12:20])  # misses 12..15, last box 0.3 s back
    assert later.detected.tolist() == [False] * 4 + [True] * 4
    assert [tuple(b) for b in later.boxes[:4]] == [box_of[16]] * 4  # too far from frame 9: the window's nearest
    assert tracker.crops([10, 11, 12], times[10:13], frames[10:13]).crops is None  # no detection of its own
    assert detector.images == 20 - 2  # frames 12 and 13 were detected once, not twice


def test_a_video_without_audio_follows_the_missing_audio_policy(tmp_path):
    model, data = tiny_model("timm+timm")
    video = write_av(tmp_path / "silent.mp4", square_frames(2.0, _moving))
    cfg = TimelineConfig(window=1.0, stride=1.0, detect_faces=False)
    with pytest.raises(DataFileError, match=r"silent\.mp4.*no audio track.*missing-audio zeros"):
        predict_timeline(model, video, cfg, data=data)
    data = data.replace(missing_audio="zeros")
    with pytest.warns(RuntimeWarning, match="no audio track"):
        timeline = predict_timeline(model, video, cfg, data=data)
    assert not timeline.has_audio and [r.audio_present for r in timeline.rows] == [False, False]
    assert any("no audio track" in note for note in timeline.notes)
    for row, window in zip(timeline.rows, window_schedule(2.0, 1.0, 1.0), strict=True):
        np.testing.assert_allclose(row.probabilities, _reference(model, data, video, window), atol=1e-5, rtol=0)


@pytest.mark.parametrize(("rate", "channels"), [(44_100, 2), (48_000, 1), (8_000, 1)])
def test_audio_is_resampled_to_the_model_rate_keeping_its_channels(tmp_path, rate, channels):
    video = write_av(tmp_path / "v.mp4", square_frames(2.0, _moving), tone(2.0, rate, channels), rate)
    index = scan_video(video)
    windows = window_schedule(index.duration, 1.0, 0.5)
    for media in stream_windows(index, windows, window_frames(index, windows, 4), RATE):
        w = media.window
        assert media.audio.shape == (channels, round(w.end * RATE) - round(w.start * RATE))
        spectrum = np.abs(np.fft.rfft(media.audio[0]))
        assert abs(np.argmax(spectrum) * RATE / media.audio.shape[1] - 440.0) <= 2.0  # the tone, at the new rate
        assert abs(np.abs(media.audio[0]).max() - 0.5) < 0.02
        if channels == 2:
            np.testing.assert_allclose(media.audio[1], media.audio[0] / 2, atol=2e-3)


def test_streaming_hands_out_windows_while_decoding(tmp_path):
    """The first window arrives before the decoder reaches the end: the video is never held whole."""
    video = write_av(tmp_path / "v.mp4", square_frames(8.0, _moving), tone(8.0, RATE), RATE)
    index = scan_video(video)
    windows = window_schedule(index.duration, 1.0, 1.0)
    stream = stream_windows(index, windows, window_frames(index, windows, 4), RATE)
    first = next(stream)
    assert first.window.index == 0 and stream.gi_frame.f_locals["decoded"] < len(index.times) / 2
    assert max(len(stream.gi_frame.f_locals["store"]) for _ in stream) <= 8  # at most ~two windows' frames


def test_bad_arguments_are_one_line_errors(tmp_path):
    from mmadapt.errors import ConfigError

    model, data = tiny_model("timm+timm")
    with pytest.raises(ConfigError, match="stride"):
        TimelineConfig(window=1.0, stride=2.0)
    with pytest.raises(ConfigError, match="file not found"):
        predict_timeline(model, tmp_path / "nope.mp4", data=data)
    with pytest.raises(ConfigError, match="4 classes but 2 class_names"):
        predict_timeline(model, tmp_path / "nope.mp4", data=data, class_names=["a", "b"])


@settings(deadline=None, max_examples=40)
@given(
    st.lists(st.booleans(), min_size=4, max_size=12),
    st.floats(min_value=0.0, max_value=1.0),
    st.integers(min_value=0, max_value=SIZE - SQUARE),
)
def test_tracking_invariants(present, max_gap, x):
    """Whatever the detections: a window has a face exactly when one of its frames has its own detection, every
    crop box is a square inside the frame, and a frame with its own detection is cropped at it."""
    frames = square_frames(len(present) / FPS, lambda t: (x, SIZE - SQUARE - x) if present[round(t * FPS)] else None)
    times = np.arange(len(present)) / FPS
    tracker = FaceTracker(SquareDetector(), FaceCropConfig(size=8), max_gap=max_gap)
    half = len(present) // 2
    for window in (range(0, half + 1), range(half - 1, len(present))):  # overlapping windows
        idx = list(window)
        faces = tracker.crops(idx, times[idx], frames[idx])
        assert faces.detected.tolist() == [present[i] for i in idx]
        assert (faces.crops is None) == (not any(present[i] for i in idx))
        if faces.crops is not None:
            assert faces.crops.shape == (len(idx), 8, 8, 3)
            side = faces.boxes[:, 2] - faces.boxes[:, 0]
            assert (side == faces.boxes[:, 3] - faces.boxes[:, 1]).all() and (faces.boxes >= 0).all()
            assert (faces.boxes[:, 2:] <= SIZE).all()
            own = square_box((x, SIZE - SQUARE - x, x + SQUARE, SIZE - x), SIZE, SIZE)
            assert all(tuple(b) == own for b, d in zip(faces.boxes, faces.detected, strict=True) if d)
