"""An adapter written by the format-v1 code (``tests/fixtures/make_adapter_v1.py``, commit 51de960) still loads and
gives the logits v1 computed: the compatibility promise of every later adapter format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import mmadapt

from ..fixtures.make_adapter_v1 import backbones

FIXTURE = Path(__file__).parents[1] / "fixtures" / "adapter_v1"


def _saved_backbones():
    audio, video = backbones()
    audio.load_state_dict(load_file(FIXTURE / "audio_backbone.safetensors"))
    video.load_state_dict(load_file(FIXTURE / "video_backbone.safetensors"))
    return audio, video


def test_fixture_is_format_v1():
    config = json.loads((FIXTURE / "adapter" / "adapter_config.json").read_text())
    assert config["format_version"] == 1
    assert set(config["backbones"]) == {"audio", "video"}


def test_v1_adapter_loads_and_gives_v1_logits():
    audio, video = _saved_backbones()
    io = load_file(FIXTURE / "io.safetensors")
    model = mmadapt.MultimodalAdapterModel.from_pretrained(FIXTURE / "adapter", audio, video).eval()
    with torch.no_grad():
        logits = model(io["video"], io["audio"])
    assert (logits - io["logits"]).abs().max().item() < 1e-6
    # the fixture's gates are non-zero: fusion takes part in those logits
    with torch.no_grad(), model.disable_adapters():
        plain = model(io["video"], io["audio"])
    assert (plain - io["logits"]).abs().max().item() > 1e-3


def test_v1_adapter_loads_into_a_wrapped_model():
    audio, video = _saved_backbones()
    io = load_file(FIXTURE / "io.safetensors")
    head = {"dim": 24, "depth": 1, "heads": 2, "dim_head": 12, "mlp_dim": 48, "max_frames": 4}
    model = mmadapt.wrap_encoders(audio, video, preset="mma-dfer", num_classes=5, head=head).eval()
    model.load_adapter(FIXTURE / "adapter")
    with torch.no_grad():
        assert (model(io["video"], io["audio"]) - io["logits"]).abs().max().item() < 1e-6


def test_v1_adapter_refuses_other_backbones():
    audio, video = _saved_backbones()
    with pytest.raises(mmadapt.AdapterMismatchError, match="width"):
        mmadapt.MultimodalAdapterModel.from_pretrained(FIXTURE / "adapter", video, audio)
