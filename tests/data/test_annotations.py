"""Official annotation lists, the dataset registry and audio location rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmadapt.data.annotations import (
    DATASET_SPECS,
    AudioRule,
    DatasetSpec,
    get_dataset_spec,
    list_dataset_specs,
    read_annotation_list,
    register_dataset_spec,
)
from mmadapt.data.errors import AnnotationError
from mmadapt.errors import ConfigError, RegistryError


def test_registry_holds_dfew_and_mafw() -> None:
    assert {"dfew", "mafw"} <= set(list_dataset_specs())
    dfew, mafw = get_dataset_spec("dfew"), get_dataset_spec("mafw")
    assert dfew.class_names == ("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear")
    assert mafw.num_classes == 11
    assert set(mafw.class_names) == {
        "anger", "disgust", "fear", "happiness", "sadness", "surprise",
        "contempt", "anxiety", "helplessness", "disappointment", "neutral",
    }  # fmt: skip
    assert mafw.class_names[:7] == dfew.class_names
    assert (dfew.missing_audio, mafw.missing_audio) == ("error", "zeros")
    assert list_dataset_specs("m*") == ["mafw"]
    with pytest.raises(ConfigError, match="unknown dataset 'affectnet'"):
        get_dataset_spec("affectnet")


def test_registering_a_taken_name_needs_override() -> None:
    # A taken name is a RegistryError as in every registry (it was a ConfigError before the one Registry type);
    # registering the very same spec again is a no-op.
    spec = DatasetSpec(name="toy-registry-test", class_names=("a", "b"))
    other = DatasetSpec(name="toy-registry-test", class_names=("a", "c"))
    try:
        register_dataset_spec(spec)
        register_dataset_spec(spec)
        with pytest.raises(RegistryError, match="already registered"):
            register_dataset_spec(other)
        register_dataset_spec(other, override=True)
        assert get_dataset_spec("toy-registry-test") is other
    finally:
        DATASET_SPECS.unregister("toy-registry-test")
    with pytest.raises(ConfigError):
        DatasetSpec(name="bad", class_names=("a", "a"))


def test_audio_rules_build_paths_from_parts(tmp_path: Path) -> None:
    dfew = get_dataset_spec("dfew").audio_rule(tmp_path)
    assert dfew.resolve("/data/DFEW/clip_224x224/00042") == tmp_path / "raw_wav" / "42.wav"
    mafw = get_dataset_spec("mafw").audio_rule(tmp_path)
    assert mafw.resolve("/data/MAFW/clips_faces/00042") == tmp_path / "clips_wav" / "00042.wav"
    assert AudioRule(tmp_path, "spk_{id}_{int_id}.flac").resolve("x/007") == tmp_path / "spk_007_7.flac"
    with pytest.raises(ConfigError, match="integer clip id"):
        dfew.resolve("/data/clip_abc")
    for bad in ("{name}.wav", "fixed.wav"):
        with pytest.raises(ConfigError, match="pattern"):
            AudioRule(tmp_path, bad)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_read_list_resolves_relative_folders(tmp_path: Path) -> None:
    lst = _write(tmp_path / "set_1_train.txt", "# comment\nclips/00001 120 3\n\n/abs/clips with space/9 17 0\n")
    records = read_annotation_list(lst, num_classes=7)
    assert [(r.frame_dir, r.num_frames, r.label, r.line) for r in records] == [
        (tmp_path / "clips/00001", 120, 3, 2),
        (Path("/abs/clips with space/9"), 17, 0, 4),
    ]
    other_root = read_annotation_list(lst, num_classes=7, root="/data/DFEW")
    assert other_root[0].frame_dir == Path("/data/DFEW/clips/00001")


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("clips/1 12 7", r"label 7 outside \[0, 7\)"),
        ("clips/1 12 -1", "label -1 outside"),
        ("clips/1 twelve 2", "must be integers"),
        ("clips/1 12", "expected 'frame_dir num_frames label'"),
        ("clips/1 0 2", "num_frames must be >= 1"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, match: str) -> None:
    lst = _write(tmp_path / "list.txt", f"clips/0 10 1\n{line}\n")
    with pytest.raises(AnnotationError, match=match) as info:
        read_annotation_list(lst, num_classes=7)
    assert info.value.line == 2 and f"{lst}:2:" in str(info.value)


def test_empty_or_missing_list(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="no clips"):
        read_annotation_list(_write(tmp_path / "empty.txt", "\n# nothing\n"), num_classes=7)
    with pytest.raises(AnnotationError, match="not found"):
        read_annotation_list(tmp_path / "missing.txt", num_classes=7)
