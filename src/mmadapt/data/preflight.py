"""The up-front data check: every clip of a split file is looked at before any backbone is built.

Why: a missing mp4 found mid-epoch kills a DataLoader worker with a long traceback, after the backbones were built
and the run folder written (issue 17 item 4). Here a manifest's rows or an annotation list's lines are read in
collecting mode (every bad label, not only the first) and each clip's files are probed as the dataset will read
them (:func:`~mmadapt.data.probe.probe_media`: packets demuxed, nothing decoded):

* an mp4 needs a video stream; a frame folder must exist and hold at least the frames its line lists;
* the audio (the manifest's separate file, else the mp4's own track; for a frame folder the audio rule's file) needs
  an audio stream, unless ``missing_audio='zeros'``: then an absent file or stream is allowed, a damaged one never;
* with a fixed ``sample_rate`` the audio's rate must equal it.

Cost on the development CPU (2 shared cores; :func:`check_manifest` over 300 copies of one clip, best of 3):
0.74 ms per clip for the 12 kB test clip (32 px, 1 s) and 1.4 ms for a 320 kB synthetic 224 px, 8 s clip. A thread
pool gave nothing (probing alone: 1.23 ms serial, 1.19 ms with 4 threads on the busy machine), so the check runs
in one thread: DFEW's 16k clips take tens of seconds, against hours of training; ``--skip-data-check`` leaves it
out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .annotations import AudioRule, read_annotation_list
from .dataset import IMAGE_SUFFIXES, ZEROS_HINT
from .errors import AnnotationError, DataFileError
from .manifest import read_manifest
from .probe import MissingAudioError, probe_media

__all__ = ["NO_AUDIO_RULE", "DataProblem", "SplitCheck", "check_annotation_list", "check_manifest"]

NO_AUDIO_RULE = (
    "no audio for the frame folders: set data.source.audio_dir (or data.source.dataset with data.source.root), "
    "or data.missing_audio=zeros for video only"
)
"""The problem of an annotation list without any audio rule, named by the experiment keys that give one."""


@dataclass(frozen=True)
class DataProblem:
    """One thing wrong: where (``file:line`` or a file) and what."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class SplitCheck:
    """What the check of one split file found."""

    path: Path
    clips: int = 0
    """Rows/lines read, good and bad."""
    labels: list[int] = field(default_factory=list)
    """Labels of the rows that parsed."""
    problems: list[DataProblem] = field(default_factory=list)


def _shown(path: Path, base: Path) -> str:
    """``path`` as the list names it: relative to the list's folder when it lies there."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _annotation_problems(check: SplitCheck, errors: list[AnnotationError]) -> None:
    for err in errors:
        check.problems.append(DataProblem(f"{Path(err.path).name}:{err.line}", err.problem))


def _probe(path: Path, what: str, *, video: bool, audio: bool, sample_rate: int | None) -> str | None:
    """The problem of one file, or None."""
    try:
        info = probe_media(path, require_video=video, require_audio=audio)
    except MissingAudioError as err:
        return f"{what}: {err.problem}; {ZEROS_HINT}"
    except DataFileError as err:
        return f"{what}: {err.problem}"
    if sample_rate is not None and info.sample_rate is not None and info.sample_rate != sample_rate:
        return f"{what}: audio at {info.sample_rate} Hz, but data.sample_rate is {sample_rate}"
    return None


def _audio_file(path: Path, what: str, missing_audio: str, sample_rate: int | None) -> str | None:
    if not path.is_file():
        return None if missing_audio == "zeros" else f"{what}: audio not found; {ZEROS_HINT}"
    return _probe(path, what, video=False, audio=missing_audio == "error", sample_rate=sample_rate)


def check_manifest(
    path: str | os.PathLike[str],
    *,
    class_names: Sequence[str] | None = None,
    num_classes: int | None = None,
    missing_audio: str = "error",
    sample_rate: int | None = None,
) -> SplitCheck:
    """Check every row of a manifest: its label, its mp4 (video stream) and its audio."""
    src = Path(path)
    errors: list[AnnotationError] = []
    records = read_manifest(src, class_names=class_names, num_classes=num_classes, problems=errors)
    check = SplitCheck(src, clips=len(records) + len(errors), labels=[r.label for r in records])
    _annotation_problems(check, errors)
    for rec in records:
        where, video = f"{src.name}:{rec.line}", f"video {_shown(rec.video, src.parent)}"
        own_audio = rec.audio is None and missing_audio == "error"
        own_rate = sample_rate if rec.audio is None else None  # the mp4's own track is read only without a file
        found = [_probe(rec.video, video, video=True, audio=own_audio, sample_rate=own_rate)]
        if rec.audio is not None:
            found.append(_audio_file(rec.audio, f"audio {_shown(rec.audio, src.parent)}", missing_audio, sample_rate))
        check.problems.extend(DataProblem(where, p) for p in found if p is not None)
    check.problems.sort(key=lambda p: _line_of(p.where))
    return check


def check_annotation_list(
    path: str | os.PathLike[str],
    num_classes: int | None,
    *,
    root: str | os.PathLike[str] | None = None,
    audio_rule: AudioRule | None = None,
    missing_audio: str = "error",
    sample_rate: int | None = None,
) -> SplitCheck:
    """Check every line of an official list: its label, its frame folder and the audio its rule names."""
    src = Path(path)
    errors: list[AnnotationError] = []
    records = read_annotation_list(src, num_classes, root, problems=errors)
    check = SplitCheck(src, clips=len(records) + len(errors), labels=[r.label for r in records])
    _annotation_problems(check, errors)
    if audio_rule is None and missing_audio == "error":
        check.problems.append(DataProblem(src.name, NO_AUDIO_RULE))
    base = Path(root) if root is not None else src.parent
    for rec in records:
        where, folder = f"{src.name}:{rec.line}", _shown(rec.frame_dir, base)
        if not rec.frame_dir.is_dir():
            check.problems.append(DataProblem(where, f"frame folder {folder} not found"))
            continue
        images = sum(1 for p in rec.frame_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if images < rec.num_frames:
            held = f"frame folder {folder} holds {images} images of {rec.num_frames}"
            check.problems.append(DataProblem(where, held))
        if audio_rule is None:
            continue
        try:
            wav = audio_rule.resolve(rec.frame_dir)
        except ConfigError as err:
            check.problems.append(DataProblem(where, str(err)))
            continue
        problem = _audio_file(wav, f"audio {wav}", missing_audio, sample_rate)
        if problem is not None:
            check.problems.append(DataProblem(where, problem))
    check.problems.sort(key=lambda p: _line_of(p.where))
    return check


def _line_of(where: str) -> int:
    """Sort key: the line number of ``file:line`` (a whole-file problem first)."""
    _, _, line = where.rpartition(":")
    return int(line) if line.isdigit() else -1
