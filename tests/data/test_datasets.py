"""Clip datasets: item contract, collate shapes, failure policies and counters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from mmadapt.data.annotations import AudioRule
from mmadapt.data.config import DataConfig
from mmadapt.data.dataset import FrameFolderDataset, VideoManifestDataset
from mmadapt.data.decode import decode_media
from mmadapt.data.errors import DataFileError, DecodeError
from mmadapt.data.fbank import FbankConfig, audio_features
from mmadapt.data.transforms import TransformConfig
from mmadapt.demo.scenes import SyntheticDataset
from mmadapt.errors import ConfigError
from tests.data._media import cut, remux_index_first, write_image_as, write_mp4, write_wav

PAD_VALUE = 4.2677393 / (2 * 4.5689974)


def config(**overrides: object) -> DataConfig:
    base = {"num_frames": 8, "transform": TransformConfig(img_size=16), "audio": FbankConfig(target_frames=96)}
    return DataConfig(**{**base, **overrides})  # type: ignore[arg-type]


def test_manifest_items_and_default_collate(synthetic: SyntheticDataset) -> None:
    ds = VideoManifestDataset(synthetic.train_manifest, config(), class_names=synthetic.class_names)
    assert len(ds) == 6 and ds.labels == [0, 1, 2, 3, 4, 5]
    item = ds[2]
    assert list(item) == ["video", "audio", "label"]  # one entry per stream, by name, and the label
    video, audio, label = item["video"], item["audio"], item["label"]
    assert video.shape == (8, 3, 16, 16) and video.dtype == torch.float32
    assert audio.shape == (1, 96, 128) and audio.dtype == torch.float32
    assert isinstance(label, int) and label == 2
    assert 0.0 <= video.min() and video.max() <= 1.0
    _, track = decode_media(ds.records[2].video, video=False)
    assert track is not None
    torch.testing.assert_close(audio, audio_features(track.waveform, track.sample_rate, FbankConfig(target_frames=96)))
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert {k: tuple(t.shape) for k, t in batch.items()} == {
        "video": (4, 8, 3, 16, 16),
        "audio": (4, 1, 96, 128),
        "label": (4,),
    }
    assert batch["label"].tolist() == [0, 1, 2, 3]
    assert ds.stats == {"items": 5}


def test_a_subclass_renames_the_streams_for_a_model_that_names_them_otherwise(synthetic: SyntheticDataset) -> None:
    class FaceVoice(VideoManifestDataset):
        video_stream, audio_stream = "face", "voice"

    plain = VideoManifestDataset(synthetic.train_manifest, config())[1]
    renamed = FaceVoice(synthetic.train_manifest, config())[1]
    assert list(renamed) == ["face", "voice", "label"]
    assert torch.equal(renamed["face"], plain["video"]) and torch.equal(renamed["voice"], plain["audio"])


def test_test_mode_is_deterministic_and_uses_segment_midpoints(synthetic: SyntheticDataset) -> None:
    ds = VideoManifestDataset(synthetic.test_manifest, config(transform=TransformConfig(img_size=32)))
    a, b = ds[0]["video"], ds[0]["video"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    frames, _ = decode_media(ds.records[0].video, [1, 3, 5, 7, 10, 12, 14, 16], audio=False)  # 18 frames, T=8
    assert frames is not None
    torch.testing.assert_close(a, torch.from_numpy(frames.frames).permute(0, 3, 1, 2).float() / 255)


def test_two_test_views(synthetic: SyntheticDataset) -> None:
    ds = VideoManifestDataset(synthetic.test_manifest, config(test_clips=2))
    video = ds[0]["video"]
    assert video.shape == (2, 8, 3, 16, 16)
    assert not torch.equal(video[0], video[1])


def test_seeded_training_items_repeat_per_epoch_and_change_between_epochs(synthetic: SyntheticDataset) -> None:
    ds = VideoManifestDataset(synthetic.train_manifest, config(mode="train", seed=1))
    first = ds[4]["video"]
    torch.testing.assert_close(ds[4]["video"], first, rtol=0, atol=0)
    ds.set_epoch(1)
    assert not torch.equal(ds[4]["video"], first)
    other = VideoManifestDataset(synthetic.train_manifest, config(mode="train", seed=1))
    torch.testing.assert_close(other[4]["video"], first, rtol=0, atol=0)


def _manifest(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "m.csv"
    path.write_text("video,audio,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_corrupt_clip_is_skipped_counted_and_replaced(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    clips = synthetic.root / "clips" / "train"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes((clips / "anger_0000.mp4").read_bytes()[:300])
    man = _manifest(tmp_path, [f"{broken},,0", f"{clips / 'surprise_0000.mp4'},,4"])
    with pytest.raises(DecodeError, match=r"broken\.mp4"):
        VideoManifestDataset(man, config())[0]
    ds = VideoManifestDataset(man, config(on_decode_error="skip"))
    with pytest.warns(RuntimeWarning, match=r"broken\.mp4"):
        item = ds[0]
    video, label = item["video"], item["label"]
    assert label == 4 and video.abs().sum() > 0  # the next valid clip, never a zero tensor
    assert ds.stats == {"decode_errors": 1, "replaced": 1, "items": 1}
    ds[0]  # known bad: replaced without decoding it again
    assert ds.stats["decode_errors"] == 1 and ds.stats["replaced"] == 2
    only_bad = VideoManifestDataset(_manifest(tmp_path, [f"{broken},,0"]), config(on_decode_error="skip"))
    with pytest.warns(RuntimeWarning), pytest.raises(DecodeError, match="could not be decoded"):
        only_bad[0]


def test_missing_wav_policies(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    video = synthetic.root / "clips" / "train" / "anger_0000.mp4"
    man = _manifest(tmp_path, [f"{video},audio/absent.wav,5"])
    with pytest.raises(DataFileError, match=r"absent\.wav: audio not found"):
        VideoManifestDataset(man, config())[0]
    ds = VideoManifestDataset(man, config(missing_audio="zeros"))
    audio = ds[0]["audio"]
    torch.testing.assert_close(audio, torch.full((1, 96, 128), PAD_VALUE))
    assert ds.stats["missing_audio"] == 1


def test_zeros_advice_only_for_a_valid_video_without_an_audio_stream(tmp_path: Path) -> None:
    silent = write_mp4(tmp_path / "silent.mp4", np.full((8, 32, 32, 3), 90, dtype=np.uint8))
    man = _manifest(tmp_path, [f"{silent},,0"])
    with pytest.raises(DataFileError, match=r"silent\.mp4: has no audio stream .*data\.missing_audio=zeros"):
        VideoManifestDataset(man, config())[0]
    ds = VideoManifestDataset(man, config(missing_audio="zeros"))
    torch.testing.assert_close(ds[0]["audio"], torch.full((1, 96, 128), PAD_VALUE))
    assert ds.stats["missing_audio"] == 1


def _still(tmp_path: Path, image_format: str) -> Path:
    return write_image_as(
        tmp_path / f"{image_format.lower()}.mp4", np.full((32, 32, 3), 90, dtype=np.uint8), image_format
    )


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.wav"
    path.write_text("not audio\n", encoding="utf-8")
    return path


NEVER_ZERO_FILLED: dict[str, Callable[[Path, Path], tuple[Path, str]]] = {  # (tmp, good mp4) -> (video, audio)
    "mp4_index_first_cut_at_half": lambda tmp, good: (
        cut(remux_index_first(good, tmp / "fast.mp4"), tmp / "cut.mp4", 0.5),
        "",
    ),
    "mp4_cut_at_half": lambda tmp, good: (cut(good, tmp / "cut.mp4", 0.5), ""),
    "png_renamed_mp4": lambda tmp, good: (_still(tmp, "PNG"), ""),
    "jpeg_renamed_mp4": lambda tmp, good: (_still(tmp, "JPEG"), ""),
    "text_as_the_audio_file": lambda tmp, good: (good, str(_text(tmp))),
    "png_as_the_audio_file": lambda tmp, good: (good, str(_still(tmp, "PNG"))),
}


@pytest.mark.parametrize("kind", sorted(NEVER_ZERO_FILLED))
def test_damaged_or_foreign_media_are_never_zero_filled(tmp_path: Path, synthetic: SyntheticDataset, kind: str) -> None:
    """Even with ``missing_audio='zeros'``: a truncated file whose audio is lost, or a still image, is a decode error
    with its own message, skipped (never silenced) under ``on_decode_error='skip'``."""
    video, audio = NEVER_ZERO_FILLED[kind](tmp_path, synthetic.root / "clips" / "train" / "anger_0000.mp4")
    man = _manifest(tmp_path, [f"{video},{audio},0"])
    for policy in ("error", "zeros"):
        with pytest.raises(DecodeError) as info:
            VideoManifestDataset(man, config(missing_audio=policy))[0]
        message = str(info.value)
        assert "missing_audio" not in message and "audio not found" not in message and "no audio" not in message
    ds = VideoManifestDataset(man, config(missing_audio="zeros", on_decode_error="skip"))
    with pytest.warns(RuntimeWarning, match="skipping undecodable clip"), pytest.raises(DecodeError):
        ds[0]
    assert ds.stats["decode_errors"] == 1 and ds.stats["missing_audio"] == 0


def test_sample_rate_mismatch_names_the_file(tmp_path: Path, synthetic: SyntheticDataset) -> None:
    video = synthetic.root / "clips" / "train" / "anger_0000.mp4"
    write_wav(tmp_path / "a.wav", np.zeros((1, 4410), dtype=np.int16), 44_100)
    man = _manifest(tmp_path, [f"{video},a.wav,5"])
    with pytest.raises(DataFileError, match=r"a\.wav: audio at 44100 Hz, but the config expects 16000 Hz"):
        VideoManifestDataset(man, config(sample_rate=16_000))[0]
    assert VideoManifestDataset(man, config())[0]["audio"].shape == (1, 96, 128)


def _frame_folders(root: Path, frames_per_clip: dict[str, int]) -> None:
    """Frame k of every clip is a flat image of value 10 * k, named so that sorting by name matters."""
    (root / "wav").mkdir()
    for clip_id, count in frames_per_clip.items():
        folder = root / "clips" / clip_id
        folder.mkdir(parents=True)
        for k in range(count):
            Image.fromarray(np.full((20, 24, 3), 10 * k, dtype=np.uint8)).save(folder / f"img_{k:03d}.png")
        tone = (np.sin(np.arange(8000) / 16_000 * 2 * np.pi * 300) * 8000).astype(np.int16)[None]
        write_wav(root / "wav" / f"{int(clip_id)}.wav", tone, 16_000)


def test_frame_folder_dataset(tmp_path: Path) -> None:
    _frame_folders(tmp_path, {"00001": 8, "00002": 20})
    (tmp_path / "list.txt").write_text("clips/00001 8 2\nclips/00002 20 6\n", encoding="utf-8")
    rule = AudioRule(tmp_path / "wav", "{int_id}.wav")
    ds = FrameFolderDataset(tmp_path / "list.txt", config(), spec="dfew", audio_rule=rule)
    item = ds[0]
    video, audio, label = item["video"], item["audio"], item["label"]
    assert label == 2 and ds.class_names is not None and ds.class_names[label] == "neutral"
    levels = (video.mean(dim=(1, 2, 3)) * 255).round().tolist()
    assert levels == [10.0 * k for k in range(8)]  # n == T: every frame once, in name order
    levels = (ds[1]["video"].mean(dim=(1, 2, 3)) * 255).round().tolist()
    assert levels == [10.0 * int(20 / 8 * (i + 0.5)) for i in range(8)]
    assert audio.shape == (1, 96, 128) and audio.std() > 0.01


def test_frame_folder_errors(tmp_path: Path) -> None:
    _frame_folders(tmp_path, {"00001": 4, "00002": 0, "00003": 3})
    (tmp_path / "wav" / "1.wav").unlink()
    lst = tmp_path / "list.txt"
    lst.write_text("clips/00001 4 0\nclips/00002 4 1\nclips/00003 5 1\nclips/00009 4 1\n", encoding="utf-8")
    rule = AudioRule(tmp_path / "wav", "{int_id}.wav")
    ds = FrameFolderDataset(lst, config(), num_classes=7, audio_rule=rule)
    with pytest.raises(DataFileError, match=r"1\.wav: audio not found"):
        ds[0]
    with pytest.raises(DecodeError, match="00002: frame folder holds no images"):
        ds[1]
    with pytest.raises(DecodeError, match=r"3 images, but .*list\.txt:3 lists 5 frames"):
        ds[2]
    with pytest.raises(DataFileError, match="frame folder not found"):
        ds[3]
    with pytest.raises(ConfigError, match="no audio rule"):
        FrameFolderDataset(lst, config(), num_classes=7)
    video_only = FrameFolderDataset(lst, config(missing_audio="zeros"), num_classes=7)
    assert video_only[0]["audio"].shape == (1, 96, 128) and video_only.stats["missing_audio"] == 1


def test_data_config_round_trip_and_validation() -> None:
    cfg = config(mode="train", seed=4, missing_audio="zeros")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert DataConfig.from_dict(data) == cfg
    assert (cfg.img_size, cfg.audio_frames, cfg.mel_bins, cfg.train) == (16, 96, 128, True)
    with pytest.raises(ConfigError, match=r"unknown keys in DataConfig\.audio"):
        DataConfig.from_dict({**data, "audio": {**data["audio"], "mel": 64}})
    with pytest.raises(ConfigError, match="unknown keys in DataConfig:"):
        DataConfig.from_dict({**data, "frames": 8})
    for bad in ({"mode": "val"}, {"num_frames": 0}, {"on_decode_error": "ignore"}, {"missing_audio": "silence"}):
        with pytest.raises(ConfigError):
            DataConfig(**bad)  # type: ignore[arg-type]
