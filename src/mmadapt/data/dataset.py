"""Clip datasets yielding ``{"video": ..., "audio": ..., "label": ...}``: frame folders (official lists) and mp4
manifests.

``video`` float32 (T, 3, S, S) (or (K, T, 3, S, S) with ``test_clips = K > 1``), ``audio`` float32 (1, F, M)
(time first, mel second), ``label`` int; the default collate gives a batch of (B, T, 3, S, S), (B, 1, F, M), (B,)
under the same keys (:mod:`mmadapt.data.batch`). The stream names are the class attributes ``video_stream`` and
``audio_stream``: a model whose streams are named otherwise takes a subclass that renames them.

Failures never turn into silent zeros. Missing files and configuration mismatches (label range, sample rate)
raise errors naming the file. Undecodable media (corrupt mp4/wav/image, empty or short frame folder) raise
too, or with ``on_decode_error='skip'`` are warned about, counted and replaced by the next valid clip. Every media
file is probed first (:mod:`mmadapt.data.probe`), so a text file, a still image or a truncated mp4 is such an error,
never "missing audio". Missing audio (an absent audio file, or a valid file without an audio stream) is an error
unless ``missing_audio='zeros'`` (the official MAFW behaviour), which is counted.
Counters live in ``dataset.stats``; with DataLoader worker processes each worker counts its own copy, so
call :meth:`ClipDatasetBase.check_all` in the main process to get dataset-wide numbers.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import ConfigError
from .annotations import AnnotationRecord, AudioRule, DatasetSpec, get_dataset_spec, read_annotation_list
from .batch import LABEL_KEY, Sample
from .config import DataConfig
from .decode import AudioTrack, decode_audio, decode_media
from .errors import DataFileError, DecodeError
from .fbank import audio_features, silent_features
from .manifest import ManifestRecord, read_manifest
from .probe import MissingAudioError
from .sampling import test_indices, train_indices
from .transforms import ClipTransform

__all__ = ["ClipDatasetBase", "FrameFolderDataset", "Item", "VideoManifestDataset"]

logger = logging.getLogger(__name__)

Item = Sample
"""``{video_stream: frames, audio_stream: features, "label": int}``."""
Selector = Callable[[int], Sequence[int]]  # num_frames -> frame indices
Audio = AudioTrack | MissingAudioError
"""A clip's decoded audio, or why it has none (the file is absent, or a valid file without an audio stream)."""
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})
ZEROS_HINT = "data.missing_audio=zeros (or --missing-audio zeros) allows it"
"""How a user lets clips without audio through, named by the experiment key and the command-line flag."""


class ClipDatasetBase(Dataset[Item]):
    """Shared sampling, transforms, audio features, failure policies and counters of the clip datasets."""

    video_stream = "video"
    """Key of the frames (a per-frame stream) in every item."""
    audio_stream = "audio"
    """Key of the log-mel features (a per-clip stream) in every item."""

    def __init__(self, labels: Sequence[int], config: DataConfig | None) -> None:
        self.config = config or DataConfig()
        self.labels = list(labels)
        self.transform = ClipTransform(self.config.transform, train=self.config.train)
        self.epoch = 0
        self.stats: Counter[str] = Counter()
        """'items' served, 'decode_errors', 'replaced', 'missing_audio' (zero features used)."""
        self._bad: set[int] = set()

    # -- subclass interface -------------------------------------------------------------------------------
    def _decode(self, index: int, select: Selector) -> tuple[np.ndarray, Audio, str]:
        """uint8 (K, H, W, 3) frames chosen by ``select(num_frames)``, the audio (or the reason it is missing) and
        where the audio was looked for. Damaged media raise :class:`DecodeError`, never count as missing audio."""
        raise NotImplementedError

    def describe(self, index: int) -> str:
        """The clip's file, for messages."""
        raise NotImplementedError

    # -- public ---------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.labels)

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation draws of a seeded dataset between epochs."""
        self.epoch = int(epoch)

    def item_generator(self, index: int) -> torch.Generator | None:
        """The RNG of one item: a function of (seed, epoch, index), or None (global RNG) when unseeded."""
        if self.config.seed is None:
            return None
        state = np.random.SeedSequence([self.config.seed, self.epoch, index]).generate_state(2, dtype=np.uint32)
        return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))

    def __getitem__(self, index: int) -> Item:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clips")
        index %= len(self)
        tries = 1 + (self.config.max_replacements if self.config.on_decode_error == "skip" else 0)
        first_error: DecodeError | None = None
        for attempt in range(tries):
            candidate = (index + attempt) % len(self)
            if candidate in self._bad:
                continue
            try:
                item = self._load(candidate)
            except DecodeError as err:
                if self.config.on_decode_error == "error":
                    raise
                self._bad.add(candidate)
                self.stats["decode_errors"] += 1
                warnings.warn(f"skipping undecodable clip: {err}", RuntimeWarning, stacklevel=2)
                first_error = first_error or err
                continue
            if candidate != index:
                self.stats["replaced"] += 1
            self.stats["items"] += 1
            return item
        raise DecodeError(
            self.describe(index),
            f"this clip and the {tries - 1} following ones could not be decoded (first error: {first_error})",
        )

    def check_all(self) -> Counter[str]:
        """Load every clip once (main process) and return the counters: a dataset audit before training."""
        for index in range(len(self)):
            self[index]
        return Counter(self.stats)

    # -- internals ------------------------------------------------------------------------------------------
    def _select(self, num_frames: int, rng: torch.Generator | None) -> list[int]:
        cfg = self.config
        if cfg.train:
            return train_indices(num_frames, cfg.num_frames, rng)
        return [i for view in test_indices(num_frames, cfg.num_frames, cfg.test_clips) for i in view]

    def _load(self, index: int) -> Item:
        rng = self.item_generator(index)
        frames, audio, source = self._decode(index, lambda n: self._select(n, rng))
        video = self.transform(frames, rng)  # (K * T, 3, S, S)
        if not self.config.train and self.config.test_clips > 1:
            video = video.reshape(self.config.test_clips, self.config.num_frames, *video.shape[1:])
        return {
            self.video_stream: video,
            self.audio_stream: self._audio_features(index, audio, source),
            LABEL_KEY: self.labels[index],
        }

    def _audio_features(self, index: int, track: Audio, source: str) -> torch.Tensor:
        cfg = self.config
        if isinstance(track, MissingAudioError):
            if cfg.missing_audio == "error":
                raise MissingAudioError(
                    track.path,
                    f"{track.problem} for clip {self.describe(index)} ({ZEROS_HINT})",
                )
            self.stats["missing_audio"] += 1
            logger.info("no audio at %s (%s); using zero features", source, track.problem)
            return silent_features(cfg.audio)
        if cfg.sample_rate is not None and track.sample_rate != cfg.sample_rate:
            raise DataFileError(source, f"audio at {track.sample_rate} Hz, but the config expects {cfg.sample_rate} Hz")
        return audio_features(track.waveform, track.sample_rate, cfg.audio)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError  # local: keeps `import mmadapt.data` light

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DecodeError(path, f"cannot read image ({err})") from err


def _read_audio_file(path: Path) -> Audio:
    """A separate audio file's track, or why it has none: absent, or a valid file without an audio stream. A
    damaged or foreign file (text, still image, truncated) raises its :class:`DecodeError`."""
    if not path.is_file():
        return MissingAudioError(path, "audio not found")
    try:
        return decode_audio(path)
    except MissingAudioError as err:
        return err


class FrameFolderDataset(ClipDatasetBase):
    """Clips stored as folders of frame images, listed in an official annotation file.

    Frame images are sorted by name; the list's ``num_frames`` drives sampling (as the official loader), and
    a folder with fewer images than listed is an error. Audio comes from ``audio_rule`` (or the spec's rule
    under ``root``); without any rule the dataset is video-only and needs ``missing_audio='zeros'``.
    """

    def __init__(
        self,
        annotation_file: str | os.PathLike[str],
        config: DataConfig | None = None,
        *,
        spec: DatasetSpec | str | None = None,
        num_classes: int | None = None,
        root: str | os.PathLike[str] | None = None,
        audio_rule: AudioRule | None = None,
    ) -> None:
        self.spec = get_dataset_spec(spec) if isinstance(spec, str) else spec
        if self.spec is not None:
            if num_classes is not None and num_classes != self.spec.num_classes:
                raise ConfigError(f"num_classes={num_classes} contradicts {self.spec.name}'s {self.spec.num_classes}")
            num_classes = self.spec.num_classes
            if audio_rule is None and root is not None:
                audio_rule = self.spec.audio_rule(root)
        if num_classes is None:
            raise ConfigError("give num_classes or a dataset spec")
        self.records: list[AnnotationRecord] = read_annotation_list(annotation_file, num_classes, root)
        super().__init__([r.label for r in self.records], config)
        self.audio_rule = audio_rule
        self.class_names = self.spec.class_names if self.spec is not None else None
        if audio_rule is None and self.config.missing_audio != "zeros":
            raise ConfigError("no audio rule given: pass audio_rule/root, or set missing_audio='zeros' for video only")

    def describe(self, index: int) -> str:
        rec = self.records[index]
        return f"{rec.frame_dir} ({rec.source}:{rec.line})"

    def _decode(self, index: int, select: Selector) -> tuple[np.ndarray, Audio, str]:
        rec = self.records[index]
        if not rec.frame_dir.is_dir():
            raise DataFileError(rec.frame_dir, f"frame folder not found (listed at {rec.source}:{rec.line})")
        files = sorted(p for p in rec.frame_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DecodeError(rec.frame_dir, "frame folder holds no images")
        if len(files) < rec.num_frames:
            raise DecodeError(
                rec.frame_dir, f"{len(files)} images, but {rec.source}:{rec.line} lists {rec.num_frames} frames"
            )
        chosen = select(rec.num_frames)
        images = {i: _read_image(files[i]) for i in set(chosen)}
        shapes = {img.shape for img in images.values()}
        if len(shapes) > 1:
            raise DecodeError(rec.frame_dir, f"frames differ in size: {sorted(shapes)}")
        frames = np.stack([images[i] for i in chosen])  # (K, H, W, 3)
        if self.audio_rule is None:
            return frames, MissingAudioError(rec.frame_dir, "no audio rule given"), "(no audio rule)"
        wav = self.audio_rule.resolve(rec.frame_dir)
        return frames, _read_audio_file(wav), str(wav)


class VideoManifestDataset(ClipDatasetBase):
    """Clips as mp4 files listed in a CSV/JSONL manifest; audio from a separate file or the mp4's own track."""

    def __init__(
        self,
        manifest: str | os.PathLike[str],
        config: DataConfig | None = None,
        *,
        class_names: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        self.records: list[ManifestRecord] = read_manifest(manifest, class_names=class_names, num_classes=num_classes)
        super().__init__([r.label for r in self.records], config)
        self.class_names = tuple(class_names) if class_names is not None else None

    def describe(self, index: int) -> str:
        rec = self.records[index]
        return f"{rec.video} ({rec.source}:{rec.line})"

    def _decode(self, index: int, select: Selector) -> tuple[np.ndarray, Audio, str]:
        rec = self.records[index]
        frames, track = decode_media(rec.video, select, audio=rec.audio is None)  # one pass: mp4's own audio too
        if frames is None:  # unreachable: decode_media raises when the video stream is absent
            raise DecodeError(rec.video, "no video stream")
        if rec.audio is None:
            # decode_media's probe has passed: None means a valid video that really has no audio stream
            own = track if track is not None else MissingAudioError(rec.video, "has no audio stream (a valid video)")
            return frames.frames, own, f"audio track of {rec.video}"
        return frames.frames, _read_audio_file(rec.audio), str(rec.audio)
