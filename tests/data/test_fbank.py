"""The Kaldi fbank equals torchaudio's (stored reference always; live torchaudio when importable)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.data.fbank import FbankConfig, audio_features, fit_frames, kaldi_fbank, normalise_fbank, silent_features
from mmadapt.errors import ConfigError, InputShapeError

REFERENCE = Path(__file__).parent / "fixtures" / "fbank_reference.npz"
PAD_VALUE = 4.2677393 / (2 * 4.5689974)  # a zero log-mel row after normalisation (~0.467)


def _cases() -> list[tuple[str, torch.Tensor, int, np.ndarray]]:
    data = np.load(REFERENCE)
    names = sorted(k[len("wav_") :] for k in data.files if k.startswith("wav_"))
    return [(n, torch.from_numpy(data[f"wav_{n}"]), int(data[f"rate_{n}"]), data[f"fbank_{n}"]) for n in names]


CASES = _cases()

# A float32 FFT resolves a frame's power to ~1e-7 of its peak; which rounding a CPU's FFT kernel makes decides
# the bins further below the peak than that, so they are compared in linear energy rather than in log.
RESOLVED_NATS = 12.0


def assert_fbank_close(actual: torch.Tensor | np.ndarray, expected: torch.Tensor | np.ndarray) -> None:
    """Log-mel within 1e-4 where float32 resolves the bin; linear energy within 1e-5 of the frame peak everywhere."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    peak = expected.max(axis=1, keepdims=True)
    resolved = expected >= peak - RESOLVED_NATS
    np.testing.assert_allclose(actual[resolved], expected[resolved], atol=1e-4, rtol=0)
    scale = np.exp(peak)
    np.testing.assert_allclose(np.exp(actual) / scale, np.exp(expected) / scale, atol=1e-5, rtol=0)


def test_fbank_tolerance_still_catches_a_wrong_bin() -> None:
    _, _, _, expected = CASES[0]
    broken = expected.copy()
    row, col = 3, int(np.argmax(expected[3]))
    broken[row, col] -= 1e-3  # a resolved bin off by 1e-3 nats
    with pytest.raises(AssertionError):
        assert_fbank_close(broken, expected)
    shifted = np.roll(expected, 1, axis=1)  # a mel matrix off by one bin
    with pytest.raises(AssertionError):
        assert_fbank_close(shifted, expected)


def test_reference_covers_the_rates_we_need() -> None:
    assert {rate for _, _, rate, _ in CASES} >= {16_000, 44_100, 48_000}
    assert REFERENCE.stat().st_size < 300_000


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_stored_torchaudio_reference(case: tuple[str, torch.Tensor, int, np.ndarray]) -> None:
    _, wav, rate, expected = case
    assert_fbank_close(kaldi_fbank(wav - wav.mean(), rate), expected)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pipeline_pads_then_normalises_the_reference(case: tuple[str, torch.Tensor, int, np.ndarray]) -> None:
    _, wav, rate, expected = case
    ref = torch.from_numpy(expected)
    padded = audio_features(wav, rate, FbankConfig(target_frames=64))
    assert padded.shape == (1, 64, 128) and padded.dtype == torch.float32
    raw = audio_features(wav, rate, FbankConfig(target_frames=64, normalise=False))
    assert_fbank_close(raw[0, : len(ref)], ref)
    torch.testing.assert_close(raw[0, len(ref) :], torch.zeros(64 - len(ref), 128))
    torch.testing.assert_close(padded, (raw + 4.2677393) / (2 * 4.5689974))
    torch.testing.assert_close(padded[0, len(ref) :], torch.full((64 - len(ref), 128), PAD_VALUE))
    cut = audio_features(wav, rate, FbankConfig(target_frames=5, normalise=False))
    assert_fbank_close(cut[0], ref[:5])


@pytest.mark.skipif(importlib.util.find_spec("torchaudio") is None, reason="torchaudio not installed")
@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_matches_live_torchaudio(rate: int) -> None:
    from torchaudio.compliance import kaldi

    wav = torch.randn(1, int(0.3 * rate), generator=torch.Generator().manual_seed(rate)) * 0.1
    wav = wav - wav.mean()
    expected = kaldi.fbank(
        wav,
        htk_compat=True,
        sample_frequency=rate,
        use_energy=False,
        window_type="hanning",
        num_mel_bins=128,
        dither=0.0,
        frame_shift=10,
    )
    assert_fbank_close(kaldi_fbank(wav, rate), expected)


@settings(max_examples=25, deadline=None)
@given(
    rate=st.sampled_from([8_000, 16_000, 22_050, 44_100, 48_000]),
    seconds=st.floats(0.0, 0.2),
)
def test_frame_count_follows_snip_edges(rate: int, seconds: float) -> None:
    n = max(1, int(rate * seconds))
    window, hop = int(rate * 25.0 * 0.001), int(rate * 10.0 * 0.001)
    expected = 0 if n < window else 1 + (n - window) // hop
    assert kaldi_fbank(torch.zeros(n), rate).shape == (expected, 128)


def test_dc_offset_does_not_change_features() -> None:
    _, wav, rate, _ = CASES[0]
    torch.testing.assert_close(audio_features(wav + 0.25, rate), audio_features(wav, rate), atol=2e-3, rtol=0)


def test_too_short_waveform_is_all_padding_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning, match="shorter than one"):
        out = audio_features(torch.randn(100), 16_000, FbankConfig(target_frames=8))
    torch.testing.assert_close(out, torch.full((1, 8, 128), PAD_VALUE))


def test_silent_features_match_the_official_missing_audio_tensor() -> None:
    out = silent_features(FbankConfig(target_frames=7, num_mel_bins=5))
    torch.testing.assert_close(out, torch.full((1, 7, 5), PAD_VALUE))


def test_stereo_policies() -> None:
    gen = torch.Generator().manual_seed(0)
    stereo = torch.randn(2, 4000, generator=gen) * 0.1
    mixed = audio_features(stereo, 16_000, FbankConfig(multichannel="mix"))
    torch.testing.assert_close(mixed, audio_features(stereo.mean(0), 16_000))
    first = audio_features(stereo, 16_000, FbankConfig(multichannel="first"))
    torch.testing.assert_close(first, audio_features(stereo[0], 16_000))
    torch.testing.assert_close(audio_features(stereo, 16_000), first)  # official default: torchaudio reads channel 0
    assert not torch.allclose(first, mixed)
    with pytest.raises(InputShapeError, match="2 channels"):
        audio_features(stereo, 16_000, FbankConfig(multichannel="error"))
    torch.testing.assert_close(audio_features(stereo[:1], 16_000), audio_features(stereo[0], 16_000))


@pytest.mark.parametrize(
    ("waveform", "match"),
    [
        (torch.zeros(1000, dtype=torch.int16), "int16"),
        (np.zeros(1000, dtype=np.int32), "int32"),
        (torch.zeros(0), "empty"),
        (torch.zeros(1, 2, 100), r"\(N,\) or \(C, N\)"),
        (torch.tensor([0.0, math.nan] * 500), "NaN"),
    ],
)
def test_bad_waveforms_are_rejected(waveform: object, match: str) -> None:
    with pytest.raises(InputShapeError, match=match):
        audio_features(waveform, 16_000)  # type: ignore[arg-type]


def test_float64_and_numpy_input_give_the_float32_result() -> None:
    _, wav, rate, _ = CASES[0]
    ref = audio_features(wav, rate)
    torch.testing.assert_close(audio_features(wav.double().numpy(), rate), ref)


def test_helpers_and_config_validation() -> None:
    feats = torch.arange(6.0).reshape(3, 2)
    assert fit_frames(feats, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert fit_frames(feats, 4)[3].tolist() == [0.0, 0.0]
    torch.testing.assert_close(normalise_fbank(torch.tensor([1.0]), 1.0, 3.0), torch.tensor([0.0]))
    for bad in ({"multichannel": "left"}, {"num_mel_bins": 0}, {"target_frames": 0}, {"frame_shift_ms": 0}):
        with pytest.raises(ConfigError):
            FbankConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Nyquist"):
        kaldi_fbank(torch.zeros(4000), 16_000, low_freq=9_000)
