"""Trainable-parameter counts of the ``mma-dfer`` preset at ViT-B scale match the official model exactly
(minus the official temporal transformer's 2,048 dead ``norm2`` parameters)."""

from __future__ import annotations

import pytest
import timm
import torch

import mmadapt

OFFICIAL_TRAINABLE = {112: 7_519_519, 160: 7_558_687, 224: 7_632_415}  # OFFICIAL_SEMANTICS.md §4
DEAD_NORM2 = 2 * 1_024


def _vit_b(**kw):
    return timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=0, **kw)


@pytest.mark.parametrize("size", [112, 160, 224])
def test_vit_b_pair_trainable_count(size):
    with torch.device("meta"):  # structure only: no memory, no init time
        audio = _vit_b(img_size=(512, 128), in_chans=1)
        video = _vit_b(img_size=size)
        model = mmadapt.wrap_encoders(audio, video, preset="mma-dfer", num_classes=7)
    trainable, _ = model.get_nb_trainable_parameters()
    assert trainable == OFFICIAL_TRAINABLE[size] - DEAD_NORM2
    assert trainable == {112: 7_517_471, 160: 7_556_639, 224: 7_630_367}[size]


def test_vit_b_fusion_and_head_breakdown():
    with torch.device("meta"):
        model = mmadapt.wrap_encoders(_vit_b(img_size=(512, 128), in_chans=1), _vit_b(img_size=112), num_classes=7)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(model.fusion[0]) == 395_522
    assert len(model.fusion) == 12
    assert count(model.head.temporal) == 2_112_512 - DEAD_NORM2
    assert count(model.head.joint) == 393_728
    assert count(model.head.classifier) == 3_591
    assert model.pos_embeds["audio"]["pos_embed"].shape == (1, 257, 768)
