"""probe_media: each kind of bad file gets its own error and message, naming the file, before anything is decoded.

The kinds: not media at all (text, random bytes, a PNG or JPEG renamed .mp4), truncated (an mp4 cut at half its
size, with its index last or first), and a valid file without the stream the caller needs (no audio, no video).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mmadapt.data.decode import decode_audio, decode_video
from mmadapt.data.errors import DataFileError, DecodeError
from mmadapt.data.probe import (
    MediaInfo,
    MissingAudioError,
    MissingVideoError,
    NotMediaError,
    TruncatedMediaError,
    probe_media,
)
from mmadapt.demo.scenes import SyntheticConfig, SyntheticDataset, make_synthetic_dataset
from tests.data._media import TINY, cut, remux_index_first, write_image_as, write_mp4, write_wav

Maker = Callable[[Path, Path], Path]  # (tmp_path, a good mp4 with audio) -> the file to probe


def _good(synthetic: SyntheticDataset) -> Path:
    return synthetic.root / "clips" / "train" / f"{synthetic.class_names[0]}_0000.mp4"


def _frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (TINY.size, TINY.size, 3), dtype=np.uint8)


def _text(tmp: Path, good: Path) -> Path:
    path = tmp / "notes.mp4"
    path.write_text("video,audio,label\nclip.mp4,,3\n", encoding="utf-8")
    return path


def _random_bytes(tmp: Path, good: Path) -> Path:
    path = tmp / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return path


def _empty(tmp: Path, good: Path) -> Path:
    path = tmp / "empty.mp4"
    path.write_bytes(b"")
    return path


def _png(tmp: Path, good: Path) -> Path:
    return write_image_as(tmp / "still.mp4", _frame(), "PNG")


def _jpeg(tmp: Path, good: Path) -> Path:
    return write_image_as(tmp / "still.mp4", _frame(), "JPEG")


def _cut_half(tmp: Path, good: Path) -> Path:
    return cut(good, tmp / "cut.mp4", 0.5)  # the index (moov) is written last: it is gone


def _cut_half_index_first(tmp: Path, good: Path) -> Path:
    return cut(remux_index_first(good, tmp / "fast.mp4"), tmp / "cut.mp4", 0.5)  # opens; half the packets missing


def _no_audio(tmp: Path, good: Path) -> Path:
    return write_mp4(tmp / "silent.mp4", np.stack([_frame()] * 4))


def _wav_as_video(tmp: Path, good: Path) -> Path:
    return write_wav(tmp / "voice.mp4", np.zeros((1, 1600), dtype=np.int16), 16_000)


BAD: dict[str, tuple[Maker, type[DataFileError], str]] = {
    "text": (_text, NotMediaError, r"is not a media container \(.*starts with b'video,audio"),
    "random_bytes": (_random_bytes, NotMediaError, "is not a media container"),
    "empty": (_empty, NotMediaError, r"is empty \(0 bytes\)"),
    "png_renamed_mp4": (_png, NotMediaError, r"is a still image \(png\), not a video"),
    "jpeg_renamed_mp4": (_jpeg, NotMediaError, r"is a still image \(jpeg\), not a video"),
    "mp4_cut_at_half": (_cut_half, TruncatedMediaError, r"truncated or corrupt: .*mp4 container.*moov"),
    "mp4_index_first_cut_at_half": (
        _cut_half_index_first,
        TruncatedMediaError,
        r"truncated or corrupt: its video stream stops at 0\.75 s of the 1\.50 s its header declares",
    ),
    "mp4_without_audio": (_no_audio, MissingAudioError, r"has no audio stream \(a valid video"),
    "wav_as_video": (_wav_as_video, MissingVideoError, r"has no video stream \(a wav file holding audio only\)"),
}
KINDS = (NotMediaError, TruncatedMediaError, MissingVideoError, MissingAudioError)


@pytest.mark.parametrize("kind", sorted(BAD))
def test_each_bad_file_gets_the_error_of_its_kind_naming_it(tmp_path, synthetic, kind):
    make, error, message = BAD[kind]
    path = make(tmp_path, _good(synthetic))
    with pytest.raises(error, match=message) as info:
        probe_media(path, require_video=True, require_audio=True)
    assert [k for k in KINDS if isinstance(info.value, k)] == [error]  # four kinds, never confused
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert "missing_audio" not in text  # the zero-filling advice belongs to the dataset, for valid files only


@pytest.mark.parametrize("kind", sorted(k for k, (_, error, _) in BAD.items() if error is not MissingAudioError))
def test_decoding_a_bad_video_raises_the_probe_error(tmp_path, synthetic, kind):
    make, error, message = BAD[kind]
    with pytest.raises(error, match=message):
        decode_video(make(tmp_path, _good(synthetic)))


def test_only_a_missing_audio_stream_is_not_a_decode_error():
    """Damage is skippable (``on_decode_error='skip'``); a missing track is the ``missing_audio`` policy's."""
    assert all(issubclass(k, DecodeError) for k in KINDS if k is not MissingAudioError)
    assert issubclass(MissingAudioError, DataFileError) and not issubclass(MissingAudioError, DecodeError)


def test_a_good_mp4_is_described(synthetic):
    path = _good(synthetic)
    info = probe_media(path, require_video=True, require_audio=True)
    assert info == MediaInfo(
        path=path,
        format=info.format,
        size=path.stat().st_size,
        video_codec=TINY.video_codec,
        audio_codec=TINY.audio_codec,
        num_frames=TINY.num_frames,
        duration=pytest.approx(TINY.seconds),
        fps=pytest.approx(TINY.fps),
        sample_rate=TINY.sample_rate,
    )
    assert "mp4" in info.format and info.has_video and info.has_audio


def test_streams_that_are_not_required_may_be_absent(tmp_path, synthetic):
    wav = probe_media(_wav_as_video(tmp_path, _good(synthetic)), require_audio=True)
    assert (wav.format, wav.has_video, wav.has_audio, wav.num_frames, wav.fps) == ("wav", False, True, None, None)
    silent = probe_media(_no_audio(tmp_path, _good(synthetic)), require_video=True)
    assert silent.has_video and not silent.has_audio and silent.num_frames == 4
    with pytest.raises(NotMediaError, match=r"still image \(png\), not an audio file"):
        probe_media(_png(tmp_path, _good(synthetic)), require_audio=True)
    with pytest.raises(NotMediaError, match=r"still image \(png\), not an audio or video file"):
        decode_audio(_png(tmp_path, _good(synthetic)))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataFileError, match=r"absent\.mp4: file not found"):
        probe_media(tmp_path / "absent.mp4")


@pytest.mark.parametrize("codecs", [("mpeg4", "pcm_s16le"), ("libx264", "aac")], ids=["mpeg4-pcm", "h264-aac"])
def test_valid_files_are_never_called_truncated(tmp_path, codecs):
    """aac's priming packet starts before 0 and h264 reorders frames: neither may look like a cut stream."""
    video_codec, audio_codec = codecs
    cfg = SyntheticConfig(size=32, fps=12, seconds=1.0, video_codec=video_codec, audio_codec=audio_codec)
    clip = next(
        (make_synthetic_dataset(tmp_path / "d", n_per_class=2, seed=0, config=cfg).root / "clips").rglob("*.mp4")
    )
    for path in (clip, remux_index_first(clip, tmp_path / "fast.mp4")):
        info = probe_media(path, require_video=True, require_audio=True)
        assert info.num_frames == cfg.num_frames and info.duration == pytest.approx(cfg.seconds)
