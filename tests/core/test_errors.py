"""Bad inputs raise errors that name the problem."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import mmadapt
from mmadapt import AdapterMismatchError, CheckpointError, ConfigError, InputShapeError, UnsupportedBackboneError

from .backbones import timm_vit
from .helpers import clone, make_inputs, make_pair, wrap


@pytest.fixture
def pair():
    return make_pair("timm+timm")


def test_wrong_rank(pair):
    audio, video, a_shape, v_shape = pair
    model = wrap(audio, video)
    vid, aud = make_inputs(a_shape, v_shape)
    with pytest.raises(InputShapeError, match=r"video: expected a \(B, T, C, H, W\)"):
        model(vid[:, 0], aud)
    with pytest.raises(InputShapeError, match="audio: expected"):
        model(vid, aud[:, 0])


def test_too_many_frames(pair):
    audio, video, a_shape, v_shape = pair
    model = wrap(audio, video)
    vid, aud = make_inputs(a_shape, v_shape, t=model.config.head.max_frames + 1)
    with pytest.raises(InputShapeError, match="T=5 frames"):
        model(vid, aud)


def test_channel_and_spectrogram_mismatch(pair):
    audio, video, a_shape, v_shape = pair
    model = wrap(audio, video)
    vid, aud = make_inputs(a_shape, v_shape)
    with pytest.raises(InputShapeError, match="3 input channel"):
        model(vid[:, :, :1], aud)
    with pytest.raises(InputShapeError, match=r"attached for input size \(64, 32\), got \(48, 32\)"):
        model(vid, aud[:, :, :48])
    with pytest.raises(InputShapeError, match="dtype"):
        model(vid, aud.to(torch.int64))
    with pytest.raises(InputShapeError, match="disagree on the number of clips: audio 1, video 2"):
        model(vid, aud[:1])


def test_unsupported_backbone_names_class_and_families():
    with pytest.raises(UnsupportedBackboneError, match=r"Linear.*supported families:.*VisionTransformer"):
        mmadapt.wrap_encoders(nn.Linear(2, 2), timm_vit()[0])
    from transformers import VideoMAEConfig, VideoMAEModel

    vmae = VideoMAEModel(
        VideoMAEConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=32,
            patch_size=8,
            num_frames=2,
        )
    )
    with pytest.raises(UnsupportedBackboneError, match="VideoMAEModel"):
        mmadapt.wrap_encoders(timm_vit(1)[0], vmae)


def test_unknown_override_and_preset(pair):
    audio, video, *_ = pair
    with pytest.raises(ConfigError, match="unknown override"):
        mmadapt.wrap_encoders(audio, video, fusoin=None)
    with pytest.raises(ConfigError, match="unknown preset 'mma-dfr'; did you mean 'mma-dfer'") as err:
        mmadapt.wrap_encoders(audio, video, preset="mma-dfr")
    assert isinstance(err.value, mmadapt.RegistryError)  # a config mistake and a failed look-up at once
    with pytest.raises(ConfigError, match="schedule adds 8 tokens"):
        mmadapt.wrap_encoders(audio, video, prompts={"num_prompts": 6, "schedule": {0: 4, 1: 4}})


def test_mismatched_adapter_dir_leaves_model_unchanged(pair, tmp_path):
    audio, video, a_shape, v_shape = pair
    model = wrap(audio, video)
    model.save_adapter(tmp_path / "a")
    other_audio, _ = timm_vit(1, size=(64, 32), depth=4, embed_dim=32, num_heads=2)  # narrower than 48
    with pytest.raises(AdapterMismatchError, match="audio width: adapter has 48, backbone has 32"):
        mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "a", other_audio, clone(video))
    # a model with another config refuses the adapter and keeps its own weights
    audio2, video2, *_ = make_pair("timm+timm", seed=5)
    small = wrap(audio2, video2, fusion={"latent_dim": 8})
    before = {k: v.clone() for k, v in small.adapter_state_dict().items()}
    with pytest.raises(AdapterMismatchError, match="fusion"):
        small.load_adapter(tmp_path / "a")
    assert all(torch.equal(before[k], v) for k, v in small.adapter_state_dict().items())


def test_missing_and_unexpected_keys(pair, tmp_path):
    from safetensors.torch import load_file, save_file

    audio, video, *_ = pair
    model = wrap(audio, video)
    model.save_adapter(tmp_path / "a")
    weights = load_file(str(tmp_path / "a" / "adapter_model.safetensors"))
    weights.pop("head.classifier.bias")
    weights["head.bogus"] = torch.zeros(1)
    save_file(weights, str(tmp_path / "a" / "adapter_model.safetensors"))
    with pytest.raises(
        AdapterMismatchError, match=r"missing keys \['head.classifier.bias'\].*unexpected keys \['head.bogus'\]"
    ):
        model.load_adapter(tmp_path / "a")


def test_corrupt_or_missing_files(pair, tmp_path):
    audio, video, *_ = pair
    model = wrap(audio, video)
    model.save_adapter(tmp_path / "a")
    path = tmp_path / "a" / "adapter_model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated or not a safetensors file"):
        model.load_adapter(tmp_path / "a")
    with pytest.raises(CheckpointError, match="no adapter config"):
        model.load_adapter(tmp_path / "nowhere")
    (tmp_path / "a" / "adapter_config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        model.load_adapter(tmp_path / "a")


def test_saved_files(pair, tmp_path):
    audio, video, *_ = pair
    model = wrap(audio, video)
    out = model.save_adapter(tmp_path / "a")
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "adapter_config.json", "adapter_model.safetensors"]
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["preset"] == "mma-dfer"
    assert cfg["mmadapt_version"] == mmadapt.__version__
    assert cfg["backbones"]["audio"]["width"] == 48 and cfg["backbones"]["video"]["input_size"] == [32, 32]
    assert cfg["config"]["fusion"]["latent_dim"] == 128
    n = sum(p.numel() for p in model.adapter_parameters())
    assert cfg["num_parameters"] == n
    size = (out / "adapter_model.safetensors").stat().st_size
    assert 4 * n <= size < 4 * n + 64 * 1024  # fp32 tensors plus a small header
