"""CSV/JSONL manifests: paths resolve against the manifest's folder, labels by index or name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmadapt.data.errors import AnnotationError
from mmadapt.data.manifest import read_manifest

NAMES = ("calm", "happy", "angry")


def test_csv_paths_and_labels(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    man = tmp_path / "sub" / "train.csv"
    man.write_text("video,audio,label,speaker\na.mp4,,1,s1\n/abs/b.mp4,wav/b.wav,angry,s2\n", encoding="utf-8")
    records = read_manifest(man, class_names=NAMES)
    assert [(r.video, r.audio, r.label, r.line) for r in records] == [
        (tmp_path / "sub" / "a.mp4", None, 1, 2),
        (Path("/abs/b.mp4"), tmp_path / "sub" / "wav" / "b.wav", 2, 3),
    ]


def test_jsonl(tmp_path: Path) -> None:
    man = tmp_path / "m.jsonl"
    rows = [{"video": "x.mp4", "label": 0}, {"video": "y.mp4", "audio": "y.wav", "label": "happy"}]
    man.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    records = read_manifest(man, class_names=NAMES)
    assert [(r.video.name, r.audio.name if r.audio else None, r.label) for r in records] == [
        ("x.mp4", None, 0),
        ("y.mp4", "y.wav", 1),
    ]


@pytest.mark.parametrize(
    ("text", "kwargs", "line", "match"),
    [
        ("video,label\na.mp4,3\n", {"class_names": NAMES}, 2, r"label 3 outside \[0, 3\)"),
        ("video,label\na.mp4,0\nb.mp4,sad\n", {"class_names": NAMES}, 3, "unknown class name 'sad'"),
        ("video,label\na.mp4,happy\n", {"num_classes": 3}, 2, "no class_names"),
        ("video,label\n,1\n", {}, 2, "missing 'video'"),
        ("video,label\na.mp4,1,extra\n", {}, 2, "more fields"),
        ("path,label\na.mp4,1\n", {}, 1, "header"),
        ("video,label\na.mp4,-2\n", {}, 2, "outside"),
    ],
)
def test_csv_errors_name_the_line(tmp_path: Path, text: str, kwargs: dict, line: int, match: str) -> None:
    man = tmp_path / "m.csv"
    man.write_text(text, encoding="utf-8")
    with pytest.raises(AnnotationError, match=match) as info:
        read_manifest(man, **kwargs)
    assert info.value.line == line and str(man) in str(info.value)


def test_jsonl_errors(tmp_path: Path) -> None:
    man = tmp_path / "m.jsonl"
    man.write_text('{"video": "a.mp4", "label": 0}\n{"video": "b.mp4", "label": \n', encoding="utf-8")
    with pytest.raises(AnnotationError, match="invalid JSON") as info:
        read_manifest(man)
    assert info.value.line == 2
    man.write_text('{"video": "a.mp4", "label": true}\n', encoding="utf-8")
    with pytest.raises(AnnotationError, match="integer or a class name"):
        read_manifest(man)
    with pytest.raises(AnnotationError, match="must end in"):
        read_manifest(tmp_path / "m.txt")
