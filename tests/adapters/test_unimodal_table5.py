"""Table 5: one modality alone. "Each branch is frozen and only the classifier is updated": the model has one
stream, no prompts, no fusion, frozen positional tables, and only the (linear) head trains."""

from __future__ import annotations

import pytest
import torch

import mmadapt
from mmadapt.errors import ConfigError

from ..core.helpers import make_inputs, make_pair

PAIRS = ["timm+timm", "hfvit+clip"]


def _wrap(pair: str, stream: str):
    audio, video, a_shape, v_shape = make_pair(pair)
    backbone = audio if stream == "audio" else video
    model = mmadapt.wrap_encoders({stream: backbone}, preset=f"mma-dfer-{stream}-only", num_classes=4)
    video_in, audio_in = make_inputs(a_shape, v_shape)
    return model, (audio_in if stream == "audio" else video_in)


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("stream", ["audio", "video"])
def test_only_the_head_trains_and_only_it_gets_gradients(pair, stream):
    model, x = _wrap(pair, stream)
    assert len(model.prompts) == 0 and model.fusion is None or len(model.fusion) == 0
    head = {id(p) for p in model.head.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and {id(p) for p in trainable} == head
    assert model.get_nb_trainable_parameters()[0] == sum(p.numel() for p in model.head.parameters())
    model.train()
    model(**{stream: x}).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.head.parameters() if p.dim() > 1)
    assert all(p.grad is None for p in model.parameters() if id(p) not in head)


@pytest.mark.parametrize("stream", ["audio", "video"])
def test_the_features_are_the_frozen_encoders_own(stream):
    """No prompts, no fusion, positional tables untouched: the pooled stream equals the backbone alone."""
    model, x = _wrap("timm+timm", stream)
    with torch.no_grad():
        pooled = model.forward_streams(**{stream: x}).pooled[stream]
        with model.disable_adapters():
            native = model.forward_streams(**{stream: x}).pooled[stream]
    assert torch.equal(pooled, native)


def test_a_pair_is_refused_naming_the_encoder_the_preset_needs():
    audio, video, *_ = make_pair("timm+timm")
    with pytest.raises(ConfigError, match="takes the video encoder alone"):
        mmadapt.wrap_encoders(audio, video, preset="mma-dfer-video-only", num_classes=4)
