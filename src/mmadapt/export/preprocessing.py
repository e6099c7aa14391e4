"""What a caller outside mmadapt must compute before an exported file: the experiment's clip preprocessing, written
into the sidecar so that an onnxruntime-only user does not have to read ``experiment.yaml`` and the data code."""

from __future__ import annotations

from typing import Any

from ..data.config import DataConfig

__all__ = ["preprocessing_record"]


def preprocessing_record(data: DataConfig) -> dict[str, Any]:
    """The ``preprocessing`` entry of an export sidecar: frame sampling, geometry and scaling of the ``video``
    stream and the log-mel features of the ``audio`` stream, as the evaluation pipeline of ``data`` makes them."""
    t, fb = data.transform, data.audio
    video = {
        "frames": data.num_frames,
        "sampling": "the middle frame of each of `frames` equal segments; clips with fewer frames repeat their last",
        "views": data.test_clips,
        "size": [t.img_size, t.img_size],
        "resize": f"bilinear, aspect not kept, align_corners false, antialias {str(t.antialias).lower()}",
        "layout": "(T, 3, H, W), RGB, values / 255 in [0, 1]",
        "mean": list(t.mean) if t.mean is not None else None,
        "std": list(t.std) if t.std is not None else None,
    }
    audio = {
        "sample_rate": data.sample_rate,
        "sample_rate_note": "null: features are computed at the file's own rate" if data.sample_rate is None else "",
        "channels": {"first": "channel 0", "mix": "mean of the channels", "error": "mono only"}[fb.multichannel],
        "remove_mean": fb.remove_mean,
        "features": (
            "torchaudio.compliance.kaldi.fbank(wav, sample_frequency=sample_rate, window_type='hanning', dither=0.0,"
            " use_energy=False, htk_compat=True, num_mel_bins=..., frame_length=..., frame_shift=..., low_freq=...,"
            " high_freq=..., preemph_coeff=...) with the values below"
        ),
        "num_mel_bins": fb.num_mel_bins,
        "frame_length_ms": fb.frame_length_ms,
        "frame_shift_ms": fb.frame_shift_ms,
        "low_freq": fb.low_freq,
        "high_freq": fb.high_freq,
        "preemphasis": fb.preemphasis,
        "target_frames": fb.target_frames,
        "pad": "zeros appended in the log-mel domain (before normalising), or cut to target_frames",
        "normalise": "(x - norm_mean) / (2 * norm_std)" if fb.normalise else None,
        "norm_mean": fb.norm_mean,
        "norm_std": fb.norm_std,
        "layout": "(1, target_frames, num_mel_bins)",
    }
    return {"video": video, "audio": audio}
