"""Face-cropped frame folders from videos (the MAFW preprocessing of the paper: MTCNN face extraction).

Each video becomes ``out_dir/<video stem>/00001.jpg ...``: per frame the largest MTCNN face box, made square
(side = the box's longer side, optionally enlarged by a margin), moved inside the frame and resized to ``size``.
A frame without a detection reuses the previous frame's box (the centre square if no face was seen yet); those
frames are counted. An official-format list (``frame_dir num_frames label``, paths relative to the list) is
written beside the folders, so :class:`~mmadapt.data.dataset.FrameFolderDataset` reads it. Each video's audio
track is written beside its folder as ``out_dir/<video stem>.wav`` (16-bit PCM, atomically), where the dataset's
audio rule with ``audio_dir = out_dir`` and the default ``{id}.wav`` pattern finds it (``mmadapt train
data.source.audio_dir=OUT``); a video without an audio track gets no wav and is counted.

facenet-pytorch is imported only when a detector is built (its MTCNN weights ship inside its wheel; install it
with ``pip install --no-deps facenet-pytorch==2.6.0`` plus ``requests``, which its package imports).

Shape legend: F frames of a video, H, W frame height/width.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .._io import atomic_path
from ..config_base import ConfigBase
from ..errors import ConfigError
from .annotations import AudioRule
from .decode import decode_media
from .wav import write_wav

__all__ = [
    "ClipFaces",
    "FaceCropConfig",
    "FaceDetector",
    "FacePrepReport",
    "default_detector",
    "largest_boxes",
    "prep_faces",
    "square_box",
]

logger = logging.getLogger(__name__)


class FaceDetector(Protocol):
    """What prep_faces needs from a detector: facenet's ``MTCNN.detect`` contract."""

    def detect(self, imgs: np.ndarray) -> tuple[Any, Any]:
        """(N, H, W, 3) uint8 -> per image an (n, 4) array of x1, y1, x2, y2 boxes (or None), and scores."""
        ...


@dataclass
class FaceCropConfig(ConfigBase):
    """Face detection and crop settings."""

    size: int = 224
    """Side of the saved square face crops."""
    margin: float = 0.0
    """Enlarge the square box side by this fraction (0 = the detector's box)."""
    min_face_size: int = 20
    """Smallest face MTCNN looks for, in pixels."""
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    """MTCNN stage thresholds (P-, R-, O-net)."""
    batch_size: int = 32
    """Frames per detector call."""
    device: str = "cpu"
    """Torch device of the detector."""
    jpeg_quality: int = 95
    """Quality of the saved JPEG frames."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; a JSON list of thresholds becomes a tuple
        if self.size < 1 or self.min_face_size < 1 or self.batch_size < 1:
            raise ConfigError(f"size, min_face_size and batch_size must be >= 1, got {self}")
        if self.margin < 0:
            raise ConfigError(f"margin must be >= 0, got {self.margin}")
        if len(self.thresholds) != 3 or not all(0.0 < t < 1.0 for t in self.thresholds):
            raise ConfigError(f"thresholds must be three numbers in (0, 1), got {self.thresholds}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality must lie in [1, 100], got {self.jpeg_quality}")


@dataclass
class ClipFaces:
    """What prep_faces did with one video."""

    video: Path
    frame_dir: Path
    num_frames: int
    boxes: np.ndarray
    """float (F, 4) square crop boxes x1, y1, x2, y2 in frame pixels."""
    detected: np.ndarray
    """bool (F,): True where the detector found a face in that frame."""
    audio: Path | None = None
    """The wav written beside ``frame_dir``; None when the video has no audio track."""


@dataclass
class FacePrepReport:
    """Per-clip results and counters of a prep_faces run."""

    annotation_file: Path
    clips: list[ClipFaces] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return sum(c.num_frames for c in self.clips)

    @property
    def frames_without_face(self) -> int:
        return int(sum((~c.detected).sum() for c in self.clips))

    @property
    def without_audio(self) -> list[Path]:
        """Videos that had no audio track (no wav was written for them)."""
        return [c.video for c in self.clips if c.audio is None]

    @property
    def frames_centre_crop(self) -> int:
        """Frames before the first detection of their video (cropped at the centre)."""
        total = 0
        for clip in self.clips:
            hits = np.flatnonzero(clip.detected)
            total += int(hits[0]) if hits.size else clip.num_frames
        return total


def square_box(
    box: Sequence[float] | np.ndarray, height: int, width: int, margin: float = 0.0
) -> tuple[int, int, int, int]:
    """Integer square (x1, y1, x2, y2) around ``box``'s centre, side max(w, h) * (1 + margin), kept in frame."""
    x1, y1, x2, y2 = (float(c) for c in box)
    side = max(x2 - x1, y2 - y1) * (1.0 + margin)
    side_px = round(min(max(side, 1.0), height, width))
    left = round((x1 + x2) / 2 - side_px / 2)
    top = round((y1 + y2) / 2 - side_px / 2)
    left = min(max(left, 0), width - side_px)
    top = min(max(top, 0), height - side_px)
    return left, top, left + side_px, top + side_px


def _centre_box(height: int, width: int) -> tuple[int, int, int, int]:
    side = min(height, width)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def default_detector(cfg: FaceCropConfig) -> FaceDetector:
    """facenet-pytorch MTCNN set up from ``cfg`` (prep-faces and timelines detect with the same settings)."""
    try:
        from facenet_pytorch import MTCNN
    except ImportError as err:
        raise ImportError(
            "face cropping needs facenet-pytorch: pip install --no-deps facenet-pytorch==2.6.0 requests"
        ) from err
    return MTCNN(
        min_face_size=cfg.min_face_size,
        thresholds=list(cfg.thresholds),
        select_largest=True,
        post_process=False,
        device=cfg.device,
    )


def largest_boxes(detector: FaceDetector, frames: np.ndarray, batch_size: int) -> list[np.ndarray | None]:
    """The largest face box of each frame (float (4,)) or None."""
    found: list[np.ndarray | None] = []
    for start in range(0, len(frames), batch_size):
        boxes, _ = detector.detect(frames[start : start + batch_size])
        for per_image in boxes:
            # numpy 2: facenet returns object arrays; cast before doing arithmetic.
            found.append(None if per_image is None else np.asarray(per_image, dtype=object)[0].astype(float))
    return found


def _crop_boxes(found: list[np.ndarray | None], height: int, width: int, margin: float) -> np.ndarray:
    boxes = np.empty((len(found), 4))
    last = _centre_box(height, width)
    for i, box in enumerate(found):
        if box is not None:
            last = square_box(box, height, width, margin)
        boxes[i] = last
    return boxes


def _save_crops(frames: np.ndarray, boxes: np.ndarray, folder: Path, cfg: FaceCropConfig) -> None:
    from PIL import Image  # local: keeps `import mmadapt.data` light

    digits = max(5, len(str(len(frames))))
    for i, (image, box) in enumerate(zip(frames, boxes, strict=True), start=1):
        x1, y1, x2, y2 = (int(c) for c in box)
        crop = Image.fromarray(image[y1:y2, x1:x2]).resize((cfg.size, cfg.size), Image.Resampling.BILINEAR)
        crop.save(folder / f"{i:0{digits}d}.jpg", quality=cfg.jpeg_quality)


def prep_faces(
    videos: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    labels: Sequence[int],
    config: FaceCropConfig | None = None,
    *,
    annotation_name: str = "annotations.txt",
    detector: FaceDetector | None = None,
    overwrite: bool = False,
) -> FacePrepReport:
    """Turn ``videos`` into face-crop frame folders under ``out_dir`` plus an official annotation list.

    ``labels[i]`` is the 0-based label of ``videos[i]``. Each folder is written under a temporary name and
    renamed when complete. ``detector`` defaults to facenet-pytorch's MTCNN built from ``config``.
    """
    cfg = config or FaceCropConfig()
    if len(videos) != len(labels):
        raise ConfigError(f"got {len(videos)} videos but {len(labels)} labels")
    if any(int(label) < 0 for label in labels):
        raise ConfigError(f"labels must be 0-based non-negative integers, got {list(labels)}")
    paths = [Path(v) for v in videos]
    stems = [p.stem for p in paths]
    duplicates = sorted({s for s in stems if stems.count(s) > 1})
    if duplicates:
        raise ConfigError(f"videos must have distinct file names; repeated: {duplicates}")
    out = Path(out_dir)
    audio_rule = AudioRule(out)  # the rule data.source.audio_dir=out gives the dataset
    existing = [str(p) for stem in stems for p in (out / stem, audio_rule.resolve(out / stem)) if p.exists()]
    if existing and not overwrite:
        raise ConfigError(f"output folders already exist (pass overwrite=True to replace them): {existing[:5]}")
    out.mkdir(parents=True, exist_ok=True)
    detector = detector or default_detector(cfg)
    report = FacePrepReport(annotation_file=out / annotation_name)
    lines = []
    for path, label in zip(paths, labels, strict=True):
        video, track = decode_media(path)  # one pass: the frames and the audio track
        assert video is not None  # decode_media raises for a file without a video stream
        frames = video.frames  # (F, H, W, 3)
        height, width = frames.shape[1:3]
        found = largest_boxes(detector, frames, cfg.batch_size)
        boxes = _crop_boxes(found, height, width, cfg.margin)
        final = out / path.stem
        staging = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=out))
        try:
            _save_crops(frames, boxes, staging, cfg)
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        wav = audio_rule.resolve(final)
        if track is not None:
            write_wav(wav, track)
        else:
            wav.unlink(missing_ok=True)  # an older run's wav would be read as this clip's audio
            logger.warning("%s has no audio track: no %s written", path, wav.name)
        detected = np.array([b is not None for b in found])
        report.clips.append(ClipFaces(path, final, len(frames), boxes, detected, wav if track is not None else None))
        lines.append(f"{path.stem} {len(frames)} {int(label)}")
        if not detected.all():
            logger.info("%s: no face in %d of %d frames", path, int((~detected).sum()), len(frames))
    with atomic_path(report.annotation_file) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    logger.info(
        "prep_faces: %d videos, %d frames, %d without a face, %d without audio",
        len(report.clips),
        report.frames,
        report.frames_without_face,
        len(report.without_audio),
    )
    return report
