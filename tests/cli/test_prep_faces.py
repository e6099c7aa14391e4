"""`mmadapt prep-faces` with a stand-in face detector, then `mmadapt eval` on the annotation list it writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmadapt.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


class CentreFace:
    """Reports one fixed box (the central half of the frame) in every frame."""

    def detect(self, imgs):
        h, w = imgs.shape[1:3]
        box = np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]])
        return [box for _ in imgs], [np.array([0.99]) for _ in imgs]


@pytest.fixture
def fake_detector(monkeypatch):
    import mmadapt.data.faces as faces

    monkeypatch.setattr(faces, "_default_detector", lambda cfg: CentreFace())


def test_prep_faces_uses_labels_file_and_feeds_eval(fake_detector, trained, tmp_path, capsys):
    data = trained.workspace.data
    out = tmp_path / "faces"
    assert main(["prep-faces", "--labels", str(data.test_manifest), "--out", str(out), "--size", "32"]) == 0
    assert "6 videos, 48 frames (0 without a detected face)" in capsys.readouterr().out
    lines = (out / "annotations.txt").read_text().splitlines()
    expected = {f"{name}_0001 8 {label}" for label, name in enumerate(data.class_names)}
    assert set(lines) == expected
    frames = sorted((out / "anger_0001").glob("*.jpg"))
    assert len(frames) == 8
    from PIL import Image

    assert Image.open(frames[0]).size == (32, 32)
    # the list is an official-format input of eval (no wav files here: silent audio features)
    code = main(["eval", "--adapter", str(trained.out), "--annotations", str(out / "annotations.txt"),
                 "--out", str(tmp_path / "ev"), "data.missing_audio=zeros"])
    assert code == 0
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["num_samples"] == 6 and metrics["dataset_stats"]["missing_audio"] == 6


def test_prep_faces_matches_given_videos_by_name(fake_detector, trained, tmp_path, capsys):
    data = trained.workspace.data
    clip = data.root / "clips" / "test" / "voice_rising_0001.mp4"
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\nelsewhere/voice_rising_0001.mp4,2\n")
    assert main(["prep-faces", str(clip), "--labels", str(labels), "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / "annotations.txt").read_text() == "voice_rising_0001 8 2\n"
    unlisted = data.root / "clips" / "test" / "anger_0001.mp4"
    assert main(["prep-faces", str(unlisted), "--labels", str(labels), "--out", str(tmp_path / "g")]) == 2
    assert "anger_0001.mp4: not listed in" in capsys.readouterr().err
