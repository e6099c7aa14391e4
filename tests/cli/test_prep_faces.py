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

    monkeypatch.setattr(faces, "default_detector", lambda cfg: CentreFace())


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
    code = main(
        [
            "eval",
            "--adapter",
            str(trained.out),
            "--annotations",
            str(out / "annotations.txt"),
            "--out",
            str(tmp_path / "ev"),
            "data.missing_audio=zeros",
        ]
    )
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


def test_prep_faces_writes_each_clips_audio_where_training_finds_it(fake_detector, workspace, tmp_path, capsys, caplog):
    from mmadapt.data import decode_audio

    data, out = workspace.data, tmp_path / "faces"
    assert main(["prep-faces", "--labels", str(data.train_manifest), "--out", str(out), "--size", "32"]) == 0
    assert f"audio: 6 wav files in {out} (data.source.audio_dir={out})" in capsys.readouterr().out
    wav = out / "anger_0000.wav"  # beside the frame folder anger_0000/, as the {id}.wav rule reads it
    written, own = decode_audio(wav), decode_audio(data.root / "clips" / "train" / "anger_0000.mp4")
    assert written.sample_rate == own.sample_rate and written.waveform.shape == own.waveform.shape
    assert np.abs(written.waveform - own.waveform).max() < 1e-3  # 16-bit PCM of the same track
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--config",
            str(workspace.config),
            "data.source.kind=annotations",
            f"data.source.train={out / 'annotations.txt'}",
            "data.source.val=null",
            f"data.source.audio_dir={out}",
            "train.max_steps=1",
            "train.batch_size=4",
            "--out",
            str(run),
        ]
    )
    assert code == 0
    assert "drop_last: the last 2 of 6 training clips are left out each epoch (batch 4)" in caplog.text
    summary = json.loads((run / "summary.json").read_text())
    assert summary["global_step"] == 1 and "missing_audio" not in summary["dataset_stats"]["train"]


@pytest.mark.parametrize("skip", [False, True], ids=["checked", "--skip-data-check"])
def test_training_frame_folders_without_audio_names_the_config_key(fake_detector, workspace, tmp_path, capsys, skip):
    out = tmp_path / "faces"
    assert main(["prep-faces", "--labels", str(workspace.data.test_manifest), "--out", str(out)]) == 0
    code = main(
        [
            "train",
            "--config",
            str(workspace.config),
            "data.source.kind=annotations",
            f"data.source.train={out / 'annotations.txt'}",
            "data.source.val=null",
            "--out",
            str(tmp_path / "r"),
            *(["--skip-data-check"] if skip else []),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "set data.source.audio_dir" in err and "data.missing_audio=zeros" in err and "audio_rule" not in err


@pytest.mark.filterwarnings("ignore:no --labels:UserWarning")
def test_a_video_without_audio_gets_no_wav_and_is_reported(fake_detector, tmp_path, capsys):
    from ..data._media import write_mp4

    clip = write_mp4(tmp_path / "mute.mp4", np.full((4, 32, 32, 3), 128, np.uint8), fps=4)
    out = tmp_path / "faces"
    (out).mkdir()
    (out / "mute.wav").write_bytes(b"stale")  # an older run's file must not pass for this clip's audio
    assert main(["prep-faces", str(clip), "--out", str(out), "--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert "audio: 0 wav files" in printed and "1 videos have no audio track, so no wav: mute.mp4" in printed
    assert (out / "mute").is_dir() and not (out / "mute.wav").exists()
