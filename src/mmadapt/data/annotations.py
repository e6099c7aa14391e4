"""Official annotation lists (``frame_dir num_frames label`` per line, 0-based labels) and the dataset registry.

A dataset spec names its classes in label order and says where each clip's audio lies: a folder plus an id
pattern (``{id}`` = the frame folder's name, ``{int_id}`` = that name as an integer, so DFEW's ``00042`` gives
``42.wav``). Paths are built from those parts, never by rewriting another path's text.
"""

from __future__ import annotations

import os
import string
import warnings
from dataclasses import dataclass
from pathlib import Path

from .._io import read_user_text
from ..errors import ConfigError, RegistryError, UnknownNameError
from ..registry import Registry
from .errors import AnnotationError

__all__ = [
    "DATASET_SPECS",
    "AnnotationRecord",
    "AudioRule",
    "DatasetSpec",
    "get_dataset_spec",
    "list_dataset_specs",
    "read_annotation_list",
    "register_dataset_spec",
]

_PATTERN_FIELDS = frozenset({"id", "int_id"})


def _pattern_fields(pattern: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(pattern) if field is not None}


@dataclass(frozen=True)
class AudioRule:
    """Where a clip's audio file lies: ``audio_dir / pattern.format(id=..., int_id=...)``."""

    audio_dir: Path
    """Folder that holds the audio files."""
    pattern: str = "{id}.wav"
    """File name pattern; fields ``{id}`` (frame folder name) and ``{int_id}`` (it as an integer)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "audio_dir", Path(self.audio_dir))
        fields = _pattern_fields(self.pattern)
        unknown = fields - _PATTERN_FIELDS
        if unknown or not fields:
            raise ConfigError(
                f"audio pattern {self.pattern!r} must use only (and at least one of) {sorted(_PATTERN_FIELDS)}"
                + (f"; unknown: {sorted(unknown)}" if unknown else "")
            )

    def resolve(self, frame_dir: str | os.PathLike[str]) -> Path:
        """The audio path of the clip whose frames lie in ``frame_dir``."""
        clip_id = Path(frame_dir).name
        values: dict[str, object] = {"id": clip_id}
        if "int_id" in _pattern_fields(self.pattern):
            try:
                values["int_id"] = int(clip_id)
            except ValueError:
                raise ConfigError(
                    f"audio pattern {self.pattern!r} needs an integer clip id, but {frame_dir} is named {clip_id!r}"
                ) from None
        return self.audio_dir / self.pattern.format(**values)


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark's classes (in label order) and its audio layout relative to the dataset root."""

    name: str
    """Registry key."""
    class_names: tuple[str, ...]
    """Class names, index = 0-based label of the official lists."""
    audio_subdir: str = "wav"
    """Audio folder, relative to the dataset root."""
    audio_pattern: str = "{id}.wav"
    """Audio file name pattern (see :class:`AudioRule`)."""
    missing_audio: str = "error"
    """What the official code does when a clip has no audio file ('error' or 'zeros')."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a dataset spec needs a name")
        if len(self.class_names) < 2 or len(set(self.class_names)) != len(self.class_names):
            raise ConfigError(f"dataset {self.name!r}: need >= 2 distinct class names, got {self.class_names}")
        if self.missing_audio not in ("error", "zeros"):
            raise ConfigError(f"dataset {self.name!r}: missing_audio must be 'error' or 'zeros'")
        AudioRule(Path("."), self.audio_pattern)  # validates the pattern

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def audio_rule(self, root: str | os.PathLike[str]) -> AudioRule:
        """The audio rule of this dataset unpacked under ``root``."""
        return AudioRule(Path(root) / self.audio_subdir, self.audio_pattern)


def _validate(name: str, spec: DatasetSpec) -> None:
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"expected a DatasetSpec, got {type(spec).__name__}")
    if spec.name != name:
        raise ValueError(f"dataset spec {spec.name!r} registered under another name, {name!r}")


DATASET_SPECS: Registry[DatasetSpec] = Registry("dataset", validate=_validate)
"""Dataset name -> its spec (classes in label order, audio layout)."""


def register_dataset_spec(spec: DatasetSpec, *, override: bool = False, overwrite: bool | None = None) -> DatasetSpec:
    """Add ``spec`` under ``spec.name``; a taken name needs ``override=True`` (``overwrite`` is its old, deprecated
    spelling)."""
    if overwrite is not None:
        warnings.warn(
            "register_dataset_spec(overwrite=...) is deprecated; pass override=... as every registry takes",
            DeprecationWarning,
            stacklevel=2,
        )
        override = override or overwrite
    if not isinstance(spec, DatasetSpec):  # before reading .name
        raise TypeError(f"expected a DatasetSpec, got {type(spec).__name__}")
    return DATASET_SPECS.register(spec.name, spec, override=override)


def get_dataset_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; an unknown name is both a RegistryError and a ConfigError (it usually comes from a
    config's ``data.source.dataset``), naming the close matches."""
    try:
        return DATASET_SPECS.get(name)
    except RegistryError as err:
        raise UnknownNameError(str(err)) from None


def list_dataset_specs(pattern: str = "*") -> list[str]:
    """Registered dataset names matching the shell-style ``pattern`` (``"m*"``), sorted."""
    return DATASET_SPECS.list(pattern)


register_dataset_spec(
    DatasetSpec(
        name="dfew",
        class_names=("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear"),
        audio_subdir="raw_wav",
        audio_pattern="{int_id}.wav",
        missing_audio="error",
    )
)
# MAFW: the paper names the 11 classes; their label order here is the one of the 0-based lists the official
# code consumes (the DFEW order extended by the four compound-leaning classes).
register_dataset_spec(
    DatasetSpec(
        name="mafw",
        class_names=(
            "happiness",
            "sadness",
            "neutral",
            "anger",
            "surprise",
            "disgust",
            "fear",
            "contempt",
            "anxiety",
            "helplessness",
            "disappointment",
        ),
        audio_subdir="clips_wav",
        audio_pattern="{id}.wav",
        missing_audio="zeros",
    )
)


@dataclass(frozen=True)
class AnnotationRecord:
    """One clip of an annotation list."""

    frame_dir: Path
    num_frames: int
    label: int
    source: Path
    """The list file the record came from."""
    line: int
    """1-based line number in ``source``."""


def read_annotation_list(
    path: str | os.PathLike[str],
    num_classes: int | None,
    root: str | os.PathLike[str] | None = None,
    problems: list[AnnotationError] | None = None,
) -> list[AnnotationRecord]:
    """Parse an official list; relative frame folders resolve against ``root`` (default: the list's folder).

    Blank lines and lines starting with ``#`` are skipped. The folder may contain spaces (the last two fields
    are the count and the label). ``num_classes=None`` checks only that labels are >= 0. A bad line raises its
    :class:`AnnotationError`; given a ``problems`` list, bad lines are appended to it and left out instead, so a
    data check reports them all at once.
    """
    src = Path(path)
    if not src.is_file():
        raise AnnotationError(src, 0, "annotation list not found")
    base = Path(root) if root is not None else src.parent
    records = []
    for line_no, raw in enumerate(_read_list(src).splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            records.append(_annotation_record(text, num_classes, base, src, line_no))
        except AnnotationError as err:
            if problems is None:
                raise
            problems.append(err)
    if not records and not problems:
        raise AnnotationError(src, 0, "annotation list holds no clips")
    return records


def _annotation_record(text: str, num_classes: int | None, base: Path, src: Path, line_no: int) -> AnnotationRecord:
    parts = text.rsplit(None, 2)
    if len(parts) != 3:
        raise AnnotationError(src, line_no, f"expected 'frame_dir num_frames label', got {text!r}")
    folder, count_text, label_text = parts
    try:
        count, label = int(count_text), int(label_text)
    except ValueError:
        raise AnnotationError(
            src, line_no, f"num_frames and label must be integers, got {count_text!r} and {label_text!r}"
        ) from None
    if count < 1:
        raise AnnotationError(src, line_no, f"num_frames must be >= 1, got {count}")
    if label < 0 or (num_classes is not None and label >= num_classes):
        raise AnnotationError(src, line_no, f"label {label} outside [0, {num_classes or 'inf'}) (labels are 0-based)")
    frame_dir = Path(folder)
    return AnnotationRecord(frame_dir if frame_dir.is_absolute() else base / frame_dir, count, label, src, line_no)


def _read_list(src: Path) -> str:
    """The annotation list's text; a non-UTF-8 or unreadable file is an :class:`AnnotationError` naming it."""
    return read_user_text(src, "annotation list", error=lambda path, problem: AnnotationError(path, 0, problem))
