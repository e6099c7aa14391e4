"""Kaldi-compatible log-mel filterbank in plain torch, and the official audio feature pipeline around it.

Why here: the audio encoder was pre-trained on ``torchaudio.compliance.kaldi.fbank`` features, but torchaudio
cannot be installed beside the pinned torch. This module recomputes the same numbers (checked to 1e-4 against
stored torchaudio outputs in ``tests/data/fixtures``) for the settings the official pipeline uses: hanning
window, power spectrum, log mel energies, no energy column (so ``htk_compat`` changes nothing), no dither,
``snip_edges`` framing, DC offset removed per frame, pre-emphasis 0.97, FFT size rounded up to a power of two.

Shape legend: C channels, N samples, F frames, M mel bins, K = P/2 + 1 FFT bins (P the padded frame length).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..config_base import ConfigBase
from ..errors import ConfigError, InputShapeError

__all__ = [
    "FbankConfig",
    "audio_features",
    "fit_frames",
    "kaldi_fbank",
    "normalise_fbank",
    "silent_features",
    "to_mono",
]

_MULTICHANNEL_POLICIES = ("mix", "first", "error")
_MS = 0.001  # milliseconds -> seconds; multiplied in the same order as Kaldi/torchaudio so frame sizes agree


@dataclass
class FbankConfig(ConfigBase):
    """Audio features of the MMA-DFER recipe (defaults = the official pipeline, AudioMAE's statistics)."""

    num_mel_bins: int = 128
    """Mel filters (M)."""
    frame_length_ms: float = 25.0
    """Analysis window length in milliseconds."""
    frame_shift_ms: float = 10.0
    """Hop between frames in milliseconds."""
    low_freq: float = 20.0
    """Lowest mel filter edge in Hz."""
    high_freq: float = 0.0
    """Highest mel filter edge in Hz; zero or negative counts down from Nyquist (Kaldi's convention)."""
    preemphasis: float = 0.97
    """Pre-emphasis coefficient applied inside each frame."""
    target_frames: int | None = 512
    """Pad (zeros in the log-mel domain, before normalising) or cut to this many frames; None keeps all."""
    remove_mean: bool = True
    """Subtract the waveform's mean before framing, as the official loader does."""
    normalise: bool = True
    """Apply ``(x - norm_mean) / (2 * norm_std)`` after padding."""
    norm_mean: float = -4.2677393
    """Dataset mean of the log-mel features (AudioSet statistics used by the official code)."""
    norm_std: float = 4.5689974
    """Dataset standard deviation of the log-mel features."""
    multichannel: str = "first"
    """Multi-channel input: 'first' keeps channel 0 (the official behaviour: its loader passes stereo wavs to
    torchaudio's fbank, which reads channel 0), 'mix' averages the channels, 'error' rejects them."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks
        if self.num_mel_bins < 1:
            raise ConfigError(f"num_mel_bins must be >= 1, got {self.num_mel_bins}")
        if self.frame_length_ms <= 0 or self.frame_shift_ms <= 0:
            raise ConfigError(
                f"frame_length_ms and frame_shift_ms must be > 0, got {self.frame_length_ms}, {self.frame_shift_ms}"
            )
        if self.low_freq < 0:
            raise ConfigError(f"low_freq must be >= 0 Hz, got {self.low_freq}")
        if not 0.0 <= self.preemphasis <= 1.0:
            raise ConfigError(f"preemphasis must lie in [0, 1], got {self.preemphasis}")
        if self.target_frames is not None and self.target_frames < 1:
            raise ConfigError(f"target_frames must be >= 1 or None, got {self.target_frames}")
        if self.norm_std <= 0:
            raise ConfigError(f"norm_std must be > 0, got {self.norm_std}")
        if self.multichannel not in _MULTICHANNEL_POLICIES:
            raise ConfigError(f"multichannel must be one of {_MULTICHANNEL_POLICIES}, got {self.multichannel!r}")


def to_mono(waveform: torch.Tensor | np.ndarray, policy: str = "first") -> torch.Tensor:
    """Return a float32 (N,) waveform from (N,) or (C, N) input, following the multi-channel ``policy``."""
    wav = torch.as_tensor(waveform)
    if not wav.is_floating_point():
        raise InputShapeError(
            f"waveform must be floating point in [-1, 1], got dtype {wav.dtype} (divide integer PCM by its full scale)"
        )
    if wav.ndim == 1:
        mono = wav
    elif wav.ndim == 2:
        if wav.shape[0] == 1:
            mono = wav[0]
        elif policy == "mix":
            mono = wav.mean(dim=0)
        elif policy == "first":
            mono = wav[0]
        elif policy == "error":
            raise InputShapeError(f"expected a mono waveform, got {wav.shape[0]} channels (shape {tuple(wav.shape)})")
        else:
            raise ConfigError(f"multichannel policy must be one of {_MULTICHANNEL_POLICIES}, got {policy!r}")
    else:
        raise InputShapeError(f"waveform must have shape (N,) or (C, N), got {tuple(wav.shape)}")
    if mono.numel() == 0:
        raise InputShapeError("waveform is empty (0 samples)")
    mono = mono.to(torch.float32)
    if not bool(torch.isfinite(mono).all()):
        raise InputShapeError("waveform contains NaN or infinite samples")
    return mono


def _frame_sizes(sample_rate: float, frame_length_ms: float, frame_shift_ms: float) -> tuple[int, int, int]:
    """(window length, hop, padded FFT length) in samples, rounded exactly as Kaldi does."""
    length = int(sample_rate * frame_length_ms * _MS)
    shift = int(sample_rate * frame_shift_ms * _MS)
    if length < 2 or shift < 1:
        raise ConfigError(
            f"a {frame_length_ms} ms window with a {frame_shift_ms} ms hop at {sample_rate} Hz gives "
            f"{length} / {shift} samples; the rate is too low"
        )
    padded = 1 << (length - 1).bit_length()
    return length, shift, padded


def _hz_to_mel(freq: torch.Tensor) -> torch.Tensor:
    return 1127.0 * (1.0 + freq / 700.0).log()


@lru_cache(maxsize=32)
def _mel_matrix(num_bins: int, padded: int, sample_rate: float, low_freq: float, high_freq: float) -> torch.Tensor:
    """Triangular filters on the mel scale as a (K, M) matrix; the Nyquist row stays zero as in Kaldi."""
    nyquist = 0.5 * sample_rate
    high = high_freq if high_freq > 0.0 else nyquist + high_freq
    if not 0.0 <= low_freq < high <= nyquist:
        raise ConfigError(
            f"mel range [{low_freq}, {high}] Hz is empty or exceeds Nyquist ({nyquist} Hz) at {sample_rate} Hz"
        )
    mel_low = 1127.0 * math.log1p(low_freq / 700.0)
    mel_high = 1127.0 * math.log1p(high / 700.0)
    step = (mel_high - mel_low) / (num_bins + 1)
    edges = mel_low + step * torch.arange(num_bins + 2, dtype=torch.float32)  # (M + 2,)
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]  # (M,) each

    bin_width = sample_rate / padded
    fft_mel = _hz_to_mel(bin_width * torch.arange(padded // 2, dtype=torch.float32))  # (K - 1,)
    rising = (fft_mel[:, None] - left) / (centre - left)  # (K - 1, M)
    falling = (right - fft_mel[:, None]) / (right - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return torch.cat([weights, torch.zeros(1, num_bins)], dim=0)  # (K, M)


def kaldi_fbank(
    waveform: torch.Tensor | np.ndarray,
    sample_rate: float,
    *,
    num_mel_bins: int = 128,
    frame_length_ms: float = 25.0,
    frame_shift_ms: float = 10.0,
    low_freq: float = 20.0,
    high_freq: float = 0.0,
    preemphasis: float = 0.97,
) -> torch.Tensor:
    """Log-mel energies (F, M) of a mono waveform (N,) as Kaldi computes them (see the module docstring).

    A waveform shorter than one window gives zero frames, shape (0, M).
    """
    wav = to_mono(waveform, "error")
    length, shift, padded = _frame_sizes(float(sample_rate), frame_length_ms, frame_shift_ms)
    mel = _mel_matrix(num_mel_bins, padded, float(sample_rate), float(low_freq), float(high_freq))
    if wav.numel() < length:
        return torch.zeros(0, num_mel_bins)

    frames = wav.unfold(0, length, shift)  # (F, L): snip_edges framing, no partial frame at the end
    frames = frames - frames.mean(dim=1, keepdim=True)  # DC offset per frame
    previous = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)  # x[-1] := x[0]
    frames = frames - preemphasis * previous
    frames = frames * torch.hann_window(length, periodic=False, dtype=torch.float32)
    spectrum = torch.fft.rfft(frames, n=padded, dim=1)  # (F, K), zero-padded to P
    power = spectrum.abs().pow(2)
    energies = power @ mel  # (F, M)
    return energies.clamp_min(torch.finfo(torch.float32).eps).log()


def fit_frames(features: torch.Tensor, target_frames: int) -> torch.Tensor:
    """Cut (F, M) features to ``target_frames`` rows, or append rows of zeros (log-mel domain) up to it."""
    if features.ndim != 2:
        raise InputShapeError(f"features must be (frames, mel_bins), got {tuple(features.shape)}")
    missing = target_frames - features.shape[0]
    if missing <= 0:
        return features[:target_frames]
    return torch.cat([features, features.new_zeros(missing, features.shape[1])], dim=0)


def normalise_fbank(features: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """``(x - mean) / (2 * std)``: the official (AudioMAE) scaling, which maps the data to roughly [-1, 1]."""
    return (features - mean) / (2.0 * std)


def audio_features(
    waveform: torch.Tensor | np.ndarray, sample_rate: float, config: FbankConfig | None = None
) -> torch.Tensor:
    """The official audio input: mono, mean removed, Kaldi fbank, pad/cut, normalise -> float32 (1, F, M)."""
    cfg = config or FbankConfig()
    wav = to_mono(waveform, cfg.multichannel)
    if cfg.remove_mean:
        wav = wav - wav.mean()
    feats = kaldi_fbank(
        wav,
        sample_rate,
        num_mel_bins=cfg.num_mel_bins,
        frame_length_ms=cfg.frame_length_ms,
        frame_shift_ms=cfg.frame_shift_ms,
        low_freq=cfg.low_freq,
        high_freq=cfg.high_freq,
        preemphasis=cfg.preemphasis,
    )
    if feats.shape[0] == 0:
        warnings.warn(
            f"waveform of {wav.numel()} samples at {sample_rate} Hz is shorter than one "
            f"{cfg.frame_length_ms} ms window; its features are padding only",
            RuntimeWarning,
            stacklevel=2,
        )
    if cfg.target_frames is not None:
        feats = fit_frames(feats, cfg.target_frames)
    if cfg.normalise:
        feats = normalise_fbank(feats, cfg.norm_mean, cfg.norm_std)
    return feats.unsqueeze(0)  # (1, F, M)


def silent_features(config: FbankConfig | None = None) -> torch.Tensor:
    """Features of a missing track, as the official MAFW loader builds them: zeros, then normalised (1, F, M)."""
    cfg = config or FbankConfig()
    if cfg.target_frames is None:
        raise ConfigError("silent features need a fixed target_frames")
    feats = torch.zeros(cfg.target_frames, cfg.num_mel_bins)
    if cfg.normalise:
        feats = normalise_fbank(feats, cfg.norm_mean, cfg.norm_std)
    return feats.unsqueeze(0)
