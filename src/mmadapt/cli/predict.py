"""Class probabilities of mp4 clips from a trained adapter, e.g.
``mmadapt predict --adapter runs/a clip1.mp4 clip2.mp4 --top-k 3 --json preds.json``.

Each clip is decoded with PyAV; its frames are sampled with the official test rule (the middle frame of each of
``data.num_frames`` segments, resized) and its audio comes from the mp4's own track or from ``--audio``
(log-mel fbank as in training). A file that cannot be decoded stops the command with an error naming it.

With ``--timeline`` the one VIDEO is predicted window by window instead (``--window`` seconds every ``--stride``
seconds; faces tracked with MTCNN, the video's own audio resampled to the model's rate), and ``timeline.csv``,
``timeline.json`` and ``timeline.png`` are written to ``--out`` (see :mod:`mmadapt.timeline`).
"""

# Shape legend: K views, T frames, S frame size, F audio frames, M mel bins, C classes.

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import (
    add_adapter_argument,
    add_check_finite_argument,
    add_device_argument,
    add_missing_audio_argument,
    add_set_argument,
    flag_overrides,
)
from ._timeline import add_timeline_arguments, check_no_timeline_options, run_timeline

if TYPE_CHECKING:
    import torch

    from ..recipe.experiment import ExperimentConfig

HELP = "class probabilities of mp4 clips (top-k with class names)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_adapter_argument(p)
    p.add_argument("videos", nargs="+", type=Path, metavar="VIDEO", help="mp4 clips to classify")
    p.add_argument(
        "--audio",
        type=Path,
        action="append",
        default=None,
        metavar="FILE",
        help="audio file (wav, flac, m4a...) to use instead of a clip's own track; give it once per video, in order",
    )
    p.add_argument(
        "--top-k", type=int, default=None, metavar="K", help="how many classes to print per clip (default 3)"
    )
    p.add_argument("--json", default=None, metavar="FILE", help="also write all probabilities as JSON here")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="experiment config describing the backbones; default: the experiment.yaml beside the adapter",
    )
    add_set_argument(p, "experiment override, repeatable (e.g. --set data.test_clips=2)")
    add_missing_audio_argument(p)
    add_check_finite_argument(p)
    add_device_argument(p)
    add_timeline_arguments(p)


def run(args: argparse.Namespace) -> int:
    if args.timeline:
        return run_timeline(args)
    check_no_timeline_options(args)
    import torch

    from .._io import write_json
    from ..errors import ConfigError
    from ..recipe.evaluation import forward_views, split_streams
    from ..recipe.protocols import stream_layout
    from ._common import check_output_file, experiment_for_adapter, label_names, load_trained_model, resolve_device

    if args.top_k is None:
        args.top_k = 3
    if args.top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {args.top_k}")
    if args.json is not None:
        if args.json.endswith(("/", os.sep)):  # Path() would drop the slash and write a file of that name
            raise ConfigError(
                f"--json {args.json}: names a folder; give a file name such as {args.json}predictions.json"
            )
        args.json = Path(args.json)
        check_output_file(args.json, "--json")  # before any clip is decoded
    audio_files = args.audio or [None] * len(args.videos)
    if len(audio_files) != len(args.videos):
        raise ConfigError(f"{len(args.videos)} videos but {len(audio_files)} --audio files; give one per video")
    adapter_dir, cfg = experiment_for_adapter(args.adapter, args.config, [*flag_overrides(args), *args.overrides])
    for media in (*args.videos, *(args.audio or ())):  # after the adapter is found, before the model is built
        if not Path(media).is_file():
            raise ConfigError(f"{media}: {'is a folder, not a file' if Path(media).is_dir() else 'file not found'}")
    device = resolve_device(args.device, cfg)
    model = load_trained_model(adapter_dir, cfg, device)
    names = label_names(cfg, model.config.num_classes)
    layout = stream_layout(model)
    top_k = min(args.top_k, len(names))
    results = []
    for video_path, audio_path in zip(args.videos, audio_files, strict=True):
        clip = load_clip(video_path, audio_path, cfg)  # decode everything before the model runs
        inputs = split_streams({s: x[None] for s, x in clip.items()}, device, layout)  # {stream: (1, ...)}
        with torch.no_grad():
            logits = forward_views(model, inputs)  # (1, C)
        probs = logits.float().softmax(dim=-1)[0].cpu()  # (C,)
        order = probs.argsort(descending=True).tolist()
        best = [{"label": i, "name": names[i], "probability": float(probs[i])} for i in order[:top_k]]
        results.append(
            {
                "video": str(video_path),
                "audio": str(audio_path) if audio_path is not None else "own track",
                "probabilities": {names[i]: float(probs[i]) for i in range(len(names))},
                "top_k": best,
            }
        )
        print(video_path)
        for rank, i in enumerate(order[:top_k], start=1):
            print(f"  {rank}. {names[i]:<24s} {float(probs[i]):.4f}")
    if args.json is not None:
        write_json(args.json, {"adapter": str(adapter_dir), "class_names": names, "predictions": results})
    return 0


def load_clip(video_path: Path, audio_path: Path | None, cfg: ExperimentConfig) -> dict[str, torch.Tensor]:
    """The clip's streams under the clip datasets' names: video (T, 3, S, S) or (K, T, 3, S, S) with
    ``data.test_clips = K > 1``, and audio (1, F, M)."""
    from ..data import (
        ClipDatasetBase,
        ClipTransform,
        DataFileError,
        audio_features,
        decode_audio,
        decode_media,
        silent_features,
        test_indices,
    )

    data = cfg.data
    views = data.test_clips

    def select(count: int) -> list[int]:
        return [i for view in test_indices(count, data.num_frames, views) for i in view]

    frames, track = decode_media(video_path, select, audio=audio_path is None)
    if frames is None:  # decode_media raises first; kept for the type checker
        raise DataFileError(video_path, "no video stream")
    video = ClipTransform(data.transform, train=False)(frames.frames)  # (K*T, 3, S, S)
    if views > 1:
        video = video.reshape(views, data.num_frames, *video.shape[1:])  # (K, T, 3, S, S)
    if audio_path is not None:
        track = decode_audio(audio_path)
    source = audio_path if audio_path is not None else video_path
    if track is None:
        if data.missing_audio != "zeros":
            raise DataFileError(
                video_path, "has no audio track; pass --audio FILE, or --missing-audio zeros for silence"
            )
        warnings.warn(f"{video_path} has no audio track: using silent features", RuntimeWarning, stacklevel=2)
        audio = silent_features(data.audio)
    elif data.sample_rate is not None and track.sample_rate != data.sample_rate:
        raise DataFileError(source, f"audio at {track.sample_rate} Hz, but the config expects {data.sample_rate} Hz")
    else:
        audio = audio_features(track.waveform, track.sample_rate, data.audio)
    return {ClipDatasetBase.video_stream: video, ClipDatasetBase.audio_stream: audio}
