"""PyAV decoding: frames, selections, audio scaling, and errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmadapt.data.decode import MissingAudioError, decode_audio, decode_media, decode_video
from mmadapt.data.errors import DataFileError, DecodeError
from mmadapt.demo.scenes import SyntheticDataset, synthesize_clip
from tests.data._media import TINY, write_mp4, write_wav


def _clip(synthetic: SyntheticDataset, label: int) -> Path:
    name = synthetic.class_names[label]
    return synthetic.root / "clips" / "train" / f"{name}_0000.mp4"


def test_all_frames_match_the_encoded_pixels(synthetic: SyntheticDataset) -> None:
    raw, _ = synthesize_clip(4, 0, seed=3, config=TINY)
    decoded = decode_video(_clip(synthetic, 4))
    assert decoded.frames.dtype == np.uint8 and decoded.frames.shape == raw.shape == (18, 32, 32, 3)
    assert decoded.num_frames == 18 and decoded.fps == pytest.approx(12.0)
    error = np.abs(decoded.frames.astype(float) - raw).mean()
    assert error < 6.0, error  # lossy h264 + yuv420p, but the same picture


def test_shared_converter_gives_pyav_own_rgb_across_frame_sizes(synthetic: SyntheticDataset, tmp_path: Path) -> None:
    """The per-thread swscale converter yields exactly PyAV's per-frame ``to_ndarray(format="rgb24")``, also when
    consecutive files change size (and back)."""
    import av

    rng = np.random.default_rng(0)
    other = write_mp4(tmp_path / "wide.mp4", rng.integers(0, 256, (4, 24, 40, 3), dtype=np.uint8))
    for path in (_clip(synthetic, 0), other, _clip(synthetic, 5)):
        with av.open(str(path)) as container:
            reference = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        np.testing.assert_array_equal(decode_video(path).frames, reference)


def test_selection_by_list_or_callable(synthetic: SyntheticDataset) -> None:
    path = _clip(synthetic, 0)
    every = decode_video(path).frames
    picked = decode_video(path, [17, 0, 0, 5])
    assert picked.indices == (17, 0, 0, 5)
    np.testing.assert_array_equal(picked.frames, every[[17, 0, 0, 5]])
    halves = decode_video(path, lambda n: [n // 2, n - 1])
    np.testing.assert_array_equal(halves.frames, every[[9, 17]])
    with pytest.raises(DecodeError, match=r"indices \[18\] outside the 18 decoded frames"):
        decode_video(path, [18])


def test_mp4_audio_track_is_the_pcm_waveform(synthetic: SyntheticDataset) -> None:
    _, audio = synthesize_clip(2, 0, seed=3, config=TINY)
    frames, track = decode_media(_clip(synthetic, 2))
    assert frames is not None and track is not None
    assert track.sample_rate == 16_000 and track.waveform.shape == (1, audio.size)
    expected = np.rint(audio * 32767).astype(np.int16) / 32768.0
    np.testing.assert_allclose(track.waveform[0], expected, atol=1e-6)


def test_wav_scaling_and_channels(tmp_path: Path) -> None:
    samples = np.array([[0, 16384, -32768, 32767], [1, 2, 3, 4]], dtype=np.int16)
    track = decode_audio(write_wav(tmp_path / "s.wav", samples, 44_100))
    assert track.sample_rate == 44_100 and track.waveform.dtype == np.float32
    np.testing.assert_allclose(track.waveform, samples / 32768.0, atol=1e-7)


def test_missing_corrupt_and_trackless_files(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    with pytest.raises(DataFileError, match="file not found") as info:
        decode_video(tmp_path / "absent.mp4")
    assert "absent.mp4" in str(info.value)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(DecodeError, match=r"junk\.mp4"):
        decode_video(junk)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(_clip(synthetic, 1).read_bytes()[:400])
    with pytest.raises(DecodeError, match=r"truncated\.mp4"):
        decode_video(truncated)
    ramp = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.full((1, 32, 32, 3), 20, dtype=np.uint8)
    silent = write_mp4(tmp_path / "silent.mp4", ramp)
    assert decode_video(silent).num_frames == 5
    with pytest.raises(MissingAudioError, match="no audio stream"):
        decode_audio(silent)
    frames, track = decode_media(silent)
    assert frames is not None and track is None
