"""`mmadapt export` of a trained run: the file takes the clips `mmadapt predict` feeds, and its sidecar says how to
make them — a caller that follows only the sidecar gets predict's probabilities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmadapt.cli import main
from mmadapt.data import FbankConfig, audio_features, decode_media, test_indices


def _inputs_from_the_sidecar(clip, pre: dict) -> dict[str, torch.Tensor]:
    """The two streams built from the sidecar's words and numbers alone (no experiment, no mmadapt transform)."""
    v, a = pre["video"], pre["audio"]
    frames, track = decode_media(clip)
    picked = torch.from_numpy(np.ascontiguousarray(frames.frames[test_indices(frames.num_frames, v["frames"])[0]]))
    video = picked.permute(0, 3, 1, 2).float() / 255.0  # (T, 3, H, W) in [0, 1]
    video = F.interpolate(video, size=v["size"], mode="bilinear", align_corners=False, antialias=True)
    if v["mean"] is not None:
        video = (video - torch.tensor(v["mean"])[:, None, None]) / torch.tensor(v["std"])[:, None, None]
    fields = set(FbankConfig.__dataclass_fields__) - {"multichannel", "normalise"}
    fbank = FbankConfig(**{k: a[k] for k in fields}, normalise=a["normalise"] is not None)
    audio = audio_features(track.waveform, track.sample_rate, fbank)  # (1, F, M)
    return {"video": video[None], "audio": audio[None]}


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    assert main(["export", "--adapter", str(trained.out), "--format", "torchscript", "--out", str(out)]) == 0
    return out / "model.pt"


def test_the_exported_clip_length_is_the_experiments_not_the_heads_maximum(exported):
    meta = json.loads(exported.with_name("model.pt.json").read_text())
    video = next(i for i in meta["inputs"] if i["name"] == "video")
    assert video["shape"][1] == meta["preprocessing"]["video"]["frames"] == 4  # data.num_frames of the run


def test_following_the_sidecar_gives_predicts_probabilities(trained, exported, tmp_path):
    meta = json.loads(exported.with_name("model.pt.json").read_text())
    assert set(meta["preprocessing"]) == {"video", "audio"}
    assert meta["preprocessing"]["audio"]["num_mel_bins"] == 16 and meta["preprocessing"]["video"]["size"] == [32, 32]
    clips = sorted((trained.workspace.data.root / "clips" / "test").glob("*.mp4"))[:2]
    preds = tmp_path / "p.json"
    assert main(["predict", "--adapter", str(trained.out), *map(str, clips), "--json", str(preds)]) == 0
    want = json.loads(preds.read_text())["predictions"]
    module = torch.jit.load(str(exported))
    for clip, pred in zip(clips, want, strict=True):
        xs = _inputs_from_the_sidecar(clip, meta["preprocessing"])
        with torch.no_grad():
            probs = module(*(xs[i["name"]] for i in meta["inputs"])).softmax(-1)[0]
        got = dict(zip(meta["class_names"], probs.tolist(), strict=True))
        assert max(abs(got[c] - pred["probabilities"][c]) for c in got) <= 1e-5, (clip, got, pred)
