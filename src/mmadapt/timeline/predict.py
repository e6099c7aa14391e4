"""``predict_timeline``: class probabilities of every window of a whole video, from a trained run or a model.

Per window (see :mod:`.windows` for the schedule) the model gets what the one-clip ``predict`` would give it for a
cut of that span: the test frame sampling over the window's frames, the frames face-cropped by the tracker
(:mod:`.faces`; ``detect_faces=False`` keeps whole frames, as ``predict`` does), resized by the experiment's
transform, and the log-mel features of the window's audio resampled to the model's rate. Windows run through the
model ``batch_size`` at a time. A window without a face gets NaN probabilities (nothing is invented); a video
without an audio track follows ``data.missing_audio`` ('error' stops, 'zeros' uses silent features) and every
window says ``audio_present = False``.

Shape legend: W windows, C classes, K views, T frames, S frame size, F audio frames, M mel bins.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..data.config import DataConfig
from ..data.errors import DataFileError
from ..data.faces import FaceDetector
from .config import TimelineConfig
from .faces import FaceTracker
from .stream import WindowMedia, scan_video, stream_windows, window_frames
from .windows import window_schedule

if TYPE_CHECKING:
    from ..model import MultimodalAdapterModel

__all__ = ["Timeline", "TimelineRow", "predict_timeline"]


@dataclass(frozen=True)
class TimelineRow:
    """One window's result."""

    start: float
    end: float
    probabilities: np.ndarray
    """float64 (C,) softmax probabilities; all NaN when the window was not predicted (no face)."""
    face_found: bool | None
    """Some sampled frame of the window has a detected face; None when faces were not looked for."""
    face_frames: int
    """How many of the sampled frames have a detection of their own (0 without face detection)."""
    frames: int
    """Sampled frames of the window (K*T)."""
    audio_present: bool
    """The window's features come from real audio samples (False: silent features of the missing-audio policy)."""

    @property
    def predicted(self) -> bool:
        return bool(np.isfinite(self.probabilities).all())

    @property
    def top(self) -> int | None:
        """Index of the most probable class, None when not predicted."""
        return int(np.argmax(self.probabilities)) if self.predicted else None


@dataclass
class Timeline:
    """All windows of one video, in time order."""

    video: Path
    duration: float
    class_names: list[str]
    config: TimelineConfig
    sample_rate: int
    """Rate the audio was resampled to."""
    has_audio: bool
    """The video has an audio track."""
    rows: list[TimelineRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the caller should know (no audio track, windows without a face, ...)."""

    @property
    def probabilities(self) -> np.ndarray:
        """float64 (W, C), NaN rows for windows not predicted."""
        return np.stack([r.probabilities for r in self.rows])


def _load_run(run: str | os.PathLike[str], device: str | None, overrides: Sequence[str]) -> tuple[Any, Any, list[str]]:
    from ..cli._common import experiment_for_adapter, label_names, load_trained_model, resolve_device

    adapter_dir, cfg = experiment_for_adapter(Path(run), None, list(overrides))
    model = load_trained_model(adapter_dir, cfg, resolve_device(device, cfg))
    return model, cfg.data, label_names(cfg, model.config.num_classes)


def _video_input(frames: np.ndarray, data: DataConfig) -> torch.Tensor:
    from ..data.transforms import ClipTransform

    video = ClipTransform(data.transform, train=False)(frames)  # (K*T, 3, S, S)
    if data.test_clips > 1:
        video = video.reshape(data.test_clips, data.num_frames, *video.shape[1:])  # (K, T, 3, S, S)
    return video


def _audio_input(media: WindowMedia, data: DataConfig, rate: int) -> tuple[torch.Tensor, bool]:
    from ..data.fbank import audio_features, silent_features

    if media.audio is None or media.audio.shape[1] == 0:
        return silent_features(data.audio), False
    return audio_features(media.audio, rate, data.audio), True  # (1, F, M)


def _run_batch(model: Any, batch: list[dict[str, torch.Tensor]]) -> list[np.ndarray]:
    """Softmax probabilities of each input; inputs of equal shapes share one model call."""
    from ..recipe.evaluation import forward_views, split_streams
    from ..recipe.protocols import stream_layout

    layout = stream_layout(model)
    device = next(model.parameters()).device
    out: list[np.ndarray | None] = [None] * len(batch)
    groups: dict[tuple, list[int]] = {}
    for i, item in enumerate(batch):
        groups.setdefault(tuple(tuple(x.shape) for x in item.values()), []).append(i)
    for members in groups.values():
        stacked = {s: torch.stack([batch[i][s] for i in members]) for s in batch[members[0]]}  # {stream: (B, ...)}
        with torch.no_grad():
            probs = forward_views(model, split_streams(stacked, device, layout)).float().softmax(dim=-1)  # (B, C)
        for i, p in zip(members, probs.cpu().double().numpy(), strict=True):
            out[i] = p
    return [p for p in out if p is not None]


def predict_timeline(
    model_or_run: MultimodalAdapterModel | str | os.PathLike[str],
    video: str | os.PathLike[str],
    config: TimelineConfig | None = None,
    *,
    data: DataConfig | None = None,
    class_names: Sequence[str] | None = None,
    device: str | None = None,
    detector: FaceDetector | None = None,
    overrides: Sequence[str] = (),
) -> Timeline:
    """Slide windows over ``video`` and predict each (see the module docstring).

    ``model_or_run`` is a run folder (or its adapter folder) written by ``mmadapt train`` / ``mmadapt demo`` --
    its experiment gives the data settings, class names and device (``device``, ``overrides`` as for
    ``mmadapt predict``) -- or a model, with its ``data`` settings (default :class:`DataConfig`) and optional
    ``class_names``. ``detector`` replaces MTCNN (facenet's ``detect`` contract).
    """
    from tqdm.auto import tqdm

    from ..data.dataset import ClipDatasetBase
    from ..data.faces import default_detector
    from ..errors import ConfigError
    from ..recipe.callbacks.progress import progress_enabled

    cfg = config or TimelineConfig()
    if isinstance(model_or_run, (str, os.PathLike)):
        if data is not None or class_names is not None:
            raise ConfigError("data and class_names come from the run folder's experiment; give them with a model")
        model, data, names = _load_run(model_or_run, device, overrides)
    else:
        model, data = model_or_run, data or DataConfig()
        count = model.config.num_classes
        names = list(class_names) if class_names is not None else [f"class_{i}" for i in range(count)]
        if len(names) != count:
            raise ConfigError(f"the model predicts {count} classes but {len(names)} class_names were given")
    path = Path(video)
    if not path.is_file():
        raise ConfigError(f"{path}: {'is a folder, not a file' if path.is_dir() else 'file not found'}")
    index = scan_video(path)
    rate = cfg.resolved_rate(data.sample_rate)
    timeline = Timeline(path, index.duration, names, cfg, rate, index.has_audio)
    if not index.has_audio:
        if data.missing_audio != "zeros":
            raise DataFileError(
                path, "has no audio track; pass --missing-audio zeros (data.missing_audio=zeros) for silent features"
            )
        message = f"{path} has no audio track: every window uses silent features (data.missing_audio=zeros)"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        timeline.notes.append(message)
    windows = window_schedule(index.duration, cfg.window, cfg.stride)
    picks = window_frames(index, windows, data.num_frames, data.test_clips)
    tracker = FaceTracker(detector or default_detector(cfg.face), cfg.face, cfg.max_gap) if cfg.detect_faces else None
    model.eval()

    rows: list[TimelineRow | None] = [None] * len(windows)
    pending: list[tuple[int, dict[str, torch.Tensor], int, bool]] = []  # (window, inputs, face frames, audio present)

    def flush() -> None:
        for (k, _, faces, audio_present), probs in zip(
            pending, _run_batch(model, [p[1] for p in pending]), strict=True
        ):
            w = windows[k]
            found = None if tracker is None else True
            rows[k] = TimelineRow(w.start, w.end, probs, found, faces, len(picks[k]), audio_present)
        pending.clear()

    bar = tqdm(total=len(windows), unit="window", desc=path.name, disable=not progress_enabled(cfg.progress))
    try:
        for media in stream_windows(index, windows, picks, rate):
            k = media.window.index
            frames, face_frames = media.frames, 0
            if tracker is not None:
                faces = tracker.crops(media.indices, media.times, media.frames)
                tracker.forget_before(media.window.start)
                face_frames = int(faces.detected.sum())
                if faces.crops is None:
                    heard = media.audio is not None and media.audio.shape[1] > 0
                    nan = np.full(len(names), np.nan)  # (C,): not predicted, not invented
                    rows[k] = TimelineRow(media.window.start, media.window.end, nan, False, 0, len(picks[k]), heard)
                    bar.update(1)
                    continue
                frames = faces.crops
            audio, audio_present = _audio_input(media, data, rate)
            inputs = {
                ClipDatasetBase.video_stream: _video_input(frames, data),
                ClipDatasetBase.audio_stream: audio,
            }
            pending.append((k, inputs, face_frames, audio_present))
            if len(pending) >= cfg.batch_size:
                flush()
            bar.update(1)
        flush()
    finally:
        bar.close()
    timeline.rows = [r for r in rows if r is not None]
    no_face = sum(1 for r in timeline.rows if r.face_found is False)
    if no_face:
        timeline.notes.append(f"{no_face} of {len(timeline.rows)} windows have no face in any sampled frame")
    silent = sum(1 for r in timeline.rows if not r.audio_present)
    if index.has_audio and silent:
        timeline.notes.append(f"{silent} windows lie past the end of the audio track: silent features")
    return timeline
