"""official -> mmadapt -> official is bit-exact, in the official key order; without stored extras the unused
tensors come back as the official code initialises them."""

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmadapt.methods.mma_dfer.convert import from_official, to_official

from ..official._keys import parse_official_keys
from ._helpers import TINY, assert_bit_exact, tiny_state_dict


def test_full_width_round_trip_is_bit_exact(full_112):
    sd, result = full_112
    assert_bit_exact(to_official(result.model), sd)
    report = result.report
    assert len(report.mapped) == 492 and len(report.dropped) == 8
    assert set(report.mapped) | set(report.dropped) == set(sd)
    assert report.mapped["image_encoder.pos_embed"] == (
        "adapter:pos_embeds.video.pos_embed",
        "adapter:prompts.video.prompt_pos",
        "video:pos_embed",
    )


def test_without_extras_unused_tensors_are_initial_values(full_112):
    sd, result = full_112
    with pytest.warns(UserWarning, match="8 official tensors"):
        back = to_official(result.model, extras={})
    specs = parse_official_keys(112)
    assert [(k, tuple(v.shape)) for k, v in back.items()] == [(s.key, s.shape) for s in specs]
    for key in result.report.dropped:
        expected = 1.0 if ".norm2.weight" in key else 0.0
        assert (back[key] == expected).all(), key
    assert all(torch.equal(back[k], sd[k]) for k in result.report.mapped)


def test_data_parallel_prefix_and_model_changes_show_up():
    sd = tiny_state_dict(160)
    model = from_official(sd, 160, 7, **TINY).model
    with torch.no_grad():
        model.fusion[3].gate["video"].fill_(0.25)
        model.prompts["video"].prompt_pos[2].fill_(7.0)
    back = to_official(model, data_parallel=True)
    assert all(k.startswith("module.") for k in back)
    assert back["module.image_encoder.all_gate.3"].item() == 0.25
    pos = back["module.image_encoder.pos_embed"]  # (1, 1 + 100 + 6, D): prompt row 2 is row 1 + 100 + 2
    assert (pos[0, 103] == 7.0).all() and torch.equal(pos[0, :101], sd["image_encoder.pos_embed"][0, :101])
    assert not torch.equal(sd["image_encoder.pos_embed"][0, 103], pos[0, 103])  # the caller's tensors were copied


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    num_classes=st.integers(1, 12),
    seed=st.integers(0, 2**16),
    wrapped=st.booleans(),
    prefixed=st.booleans(),
    img_size=st.sampled_from([112, 160, 224]),
)
def test_round_trip_any_classes_and_input_form(num_classes, seed, wrapped, prefixed, img_size):
    sd = tiny_state_dict(img_size, num_classes=num_classes, seed=seed)
    given_sd = {("module." + k if prefixed else k): v for k, v in sd.items()}
    source = {"state_dict": given_sd, "epoch": 3} if wrapped else given_sd
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = from_official(source, img_size, num_classes, **TINY)
    assert result.report.source.stripped_prefix == prefixed
    assert result.report.source.other_entries == (("epoch",) if wrapped else ())
    assert_bit_exact(to_official(result.model), sd)
