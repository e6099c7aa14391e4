"""Adapter parameter counts per part: the parts a table lists add up to the model's trainable total."""

from __future__ import annotations

import pytest

import mmadapt

from .helpers import SMALL_HEAD, make_pair

PRESETS = ["mma-dfer", "mma-dfer-no-fusion", "mma-dfer-fusion-mbt", "mma-dfer-vpt-deep"]


@pytest.mark.parametrize("pair", ["timm+timm", "hfvit+clip"])
@pytest.mark.parametrize("preset", PRESETS)
def test_parts_add_up_to_the_trainable_total(pair, preset):
    audio, video, _, _ = make_pair(pair)
    model = mmadapt.wrap_encoders(audio, video, preset=preset, head=SMALL_HEAD, num_classes=5)
    counts = model.adapter_parameter_counts()
    assert set(counts) >= set(model.adapter_modules()) and list(counts) == sorted(counts)
    assert sum(counts.values()) == model.get_nb_trainable_parameters()[0]
    for name, module in model.adapter_modules().items():
        assert counts[name] == sum(p.numel() for p in module.parameters())
    model.detach()
