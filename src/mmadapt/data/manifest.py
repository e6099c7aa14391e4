"""Video manifests: CSV (header ``video,audio,label``) or JSON Lines (``{"video": ..., "label": ...}``).

``video`` is an mp4 path, ``audio`` an optional separate audio file (empty or absent: use the mp4's own track),
``label`` an integer or a class name. Relative paths resolve against the manifest's folder so a dataset folder
can be moved as a whole. Other columns/keys (speaker, split...) are allowed and ignored.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._io import read_user_text
from .errors import AnnotationError

__all__ = ["ManifestRecord", "read_manifest"]

_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class ManifestRecord:
    """One clip of a manifest."""

    video: Path
    audio: Path | None
    label: int
    source: Path
    line: int
    """1-based line number in ``source`` (the CSV header is line 1)."""


def _label(value: object, class_names: Sequence[str] | None, num_classes: int | None, src: Path, line: int) -> int:
    if isinstance(value, bool):
        raise AnnotationError(src, line, f"label must be an integer or a class name, got {value!r}")
    if isinstance(value, int):
        label = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        label = int(value)
    elif isinstance(value, str) and value.strip():
        if class_names is None:
            raise AnnotationError(src, line, f"label {value!r} is a name, but no class_names were given")
        try:
            label = list(class_names).index(value.strip())
        except ValueError:
            raise AnnotationError(src, line, f"unknown class name {value!r}; known: {list(class_names)}") from None
    else:
        raise AnnotationError(src, line, f"label must be an integer or a class name, got {value!r}")
    limit = len(class_names) if class_names is not None else num_classes
    if label < 0 or (limit is not None and label >= limit):
        raise AnnotationError(src, line, f"label {label} outside [0, {limit if limit is not None else 'inf'})")
    return label


def _rows(src: Path, kind: str) -> list[tuple[int, dict[str, object]]]:
    text = read_user_text(src, "manifest", error=lambda path, problem: AnnotationError(path, 0, problem))
    if kind == "csv":
        reader = csv.DictReader(text.splitlines())
        if reader.fieldnames is None or "video" not in reader.fieldnames or "label" not in reader.fieldnames:
            raise AnnotationError(src, 1, f"CSV header must name 'video' and 'label', got {reader.fieldnames}")
        rows = []
        for row in reader:
            if None in row:
                raise AnnotationError(src, reader.line_num, "row has more fields than the header")
            rows.append((reader.line_num, dict(row)))
        return rows
    rows = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            raise AnnotationError(src, line_no, f"invalid JSON ({err.msg})") from None
        if not isinstance(obj, dict):
            raise AnnotationError(src, line_no, f"expected a JSON object, got {type(obj).__name__}")
        rows.append((line_no, obj))
    return rows


def read_manifest(
    path: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
    problems: list[AnnotationError] | None = None,
) -> list[ManifestRecord]:
    """Parse a CSV or JSONL manifest; labels are checked against ``class_names`` or ``num_classes``.

    A bad row raises its :class:`AnnotationError`; given a ``problems`` list, bad rows are appended to it and left
    out instead, so a data check reports them all at once. A malformed file (header, encoding) raises either way.
    """
    src = Path(path)
    kind = _FORMATS.get(src.suffix.lower())
    if kind is None:
        raise AnnotationError(src, 0, f"manifest must end in one of {sorted(_FORMATS)}")
    if not src.is_file():
        raise AnnotationError(src, 0, "manifest not found")
    records = []
    for line_no, row in _rows(src, kind):
        try:
            records.append(_record(row, class_names, num_classes, src, line_no))
        except AnnotationError as err:
            if problems is None:
                raise
            problems.append(err)
    if not records and not problems:
        raise AnnotationError(src, 0, "manifest holds no clips")
    return records


def _record(
    row: dict[str, object], class_names: Sequence[str] | None, num_classes: int | None, src: Path, line_no: int
) -> ManifestRecord:
    video = row.get("video")
    if not isinstance(video, str) or not video.strip():
        raise AnnotationError(src, line_no, "missing 'video' path")
    audio = row.get("audio")
    if audio is not None and not isinstance(audio, str):
        raise AnnotationError(src, line_no, f"'audio' must be a path string, got {audio!r}")
    return ManifestRecord(
        video=src.parent / video.strip(),  # an absolute path stays absolute under '/'
        audio=src.parent / audio.strip() if audio and audio.strip() else None,
        label=_label(row.get("label"), class_names, num_classes, src, line_no),
        source=src,
        line=line_no,
    )
