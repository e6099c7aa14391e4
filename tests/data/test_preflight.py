"""The up-front data check finds, in one pass, every clip the datasets would fail on, and only those."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mmadapt.data import AudioRule
from mmadapt.data.preflight import NO_AUDIO_RULE, check_annotation_list, check_manifest
from mmadapt.demo.scenes import SyntheticDataset
from tests.data._media import cut, write_mp4, write_wav


def _lines(check) -> list[str]:
    return [str(p) for p in check.problems]


def test_a_manifest_check_lists_every_bad_row_in_line_order(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    good = synthetic.root / "clips" / "train" / "anger_0000.mp4"
    cut(good, tmp_path / "cut.mp4", 0.5)
    write_mp4(tmp_path / "silent.mp4", np.zeros((8, 32, 32, 3), np.uint8))
    write_wav(tmp_path / "a44.wav", np.zeros((1, 441), np.int16), 44_100)
    (tmp_path / "m.csv").write_text(
        "video,audio,label\n"
        f"{good},,0\n"  # fine
        "gone.mp4,,1\n"
        "cut.mp4,,1\n"
        "silent.mp4,,2\n"
        f"{good},a44.wav,3\n"
        f"{good},,9\n"
    )
    check = check_manifest(tmp_path / "m.csv", num_classes=6, sample_rate=16_000)
    assert check.clips == 6 and check.labels == [0, 1, 1, 2, 3]
    problems = _lines(check)
    assert problems[0] == "m.csv:3: video gone.mp4: file not found"
    assert problems[1].startswith("m.csv:4: video cut.mp4: is truncated or corrupt")
    assert problems[2].startswith("m.csv:5: video silent.mp4: has no audio stream")
    assert "data.missing_audio=zeros" in problems[2]
    assert problems[3] == "m.csv:6: audio a44.wav: audio at 44100 Hz, but data.sample_rate is 16000"
    assert problems[4] == "m.csv:7: label 9 outside [0, 6)" and len(problems) == 5


def test_zeros_lets_absent_audio_through_but_never_a_damaged_file(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    good = synthetic.root / "clips" / "train" / "anger_0000.mp4"
    write_mp4(tmp_path / "silent.mp4", np.zeros((8, 32, 32, 3), np.uint8))
    (tmp_path / "notes.wav").write_text("not audio\n")
    (tmp_path / "m.csv").write_text(f"video,audio,label\nsilent.mp4,,0\n{good},absent.wav,1\n{good},notes.wav,2\n")
    problems = _lines(check_manifest(tmp_path / "m.csv", num_classes=6, missing_audio="zeros"))
    assert len(problems) == 1 and problems[0].startswith("m.csv:4: audio notes.wav: is not a media container")


def test_an_annotation_list_check_looks_at_folders_and_the_audio_rule(tmp_path: Path) -> None:
    for clip_id, count in {"00001": 4, "00002": 2, "00003": 4}.items():
        folder = tmp_path / "clips" / clip_id
        folder.mkdir(parents=True)
        for k in range(count):
            Image.fromarray(np.full((8, 8, 3), k, np.uint8)).save(folder / f"{k:03d}.png")
    (tmp_path / "wav").mkdir()
    write_wav(tmp_path / "wav" / "1.wav", np.zeros((1, 1600), np.int16), 16_000)
    (tmp_path / "list.txt").write_text("clips/00001 4 0\nclips/00002 4 1\nclips/00003 4 1\nclips/00009 4 8\n")
    rule = AudioRule(tmp_path / "wav", "{int_id}.wav")
    check = check_annotation_list(tmp_path / "list.txt", 7, audio_rule=rule)
    assert check.clips == 4 and check.labels == [0, 1, 1]
    problems = _lines(check)
    assert problems[0] == "list.txt:2: frame folder clips/00002 holds 2 images of 4"
    assert problems[1].startswith("list.txt:2: audio ") and "2.wav: audio not found" in problems[1]
    assert problems[2].startswith("list.txt:3: audio ") and "3.wav: audio not found" in problems[2]
    assert problems[3] == "list.txt:4: label 8 outside [0, 7) (labels are 0-based)" and len(problems) == 4
    no_rule = _lines(check_annotation_list(tmp_path / "list.txt", 9))
    assert no_rule[0] == f"list.txt: {NO_AUDIO_RULE}" and "frame folder clips/00009 not found" in no_rule[-1]
    assert check_annotation_list(tmp_path / "list.txt", None, missing_audio="zeros").labels == [0, 1, 1, 8]
