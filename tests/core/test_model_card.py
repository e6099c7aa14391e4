"""save_adapter writes a model card (README.md) that says what the adapter is and whose load snippet works."""

from __future__ import annotations

import json
import re

import pytest
import torch

import mmadapt
from mmadapt.model_card import CARD_MARKER, MODEL_CARD_NAME

from .helpers import make_inputs, make_pair, make_three, randomise_gates, wrap, wrap_three

PAIR_NAMES = ["timm+timm", "hfvit+clip"]


def _card(directory) -> str:
    return (directory / MODEL_CARD_NAME).read_text(encoding="utf-8")


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_the_card_names_preset_kinds_backbones_and_parameter_count(tmp_path, pair):
    audio, video, *_ = make_pair(pair)
    model = wrap(audio, video)
    model.save_adapter(tmp_path)
    card, record = _card(tmp_path), json.loads((tmp_path / "adapter_config.json").read_text())
    assert card.splitlines()[0] == CARD_MARKER
    assert "# mmadapt adapter: mma-dfer" in card
    assert f"{sum(p.numel() for p in model.adapter_parameters()):,} adapter parameters" in card
    for role in ("prompts", "fusion", "head"):
        assert f"- {role}: `{record['config'][role]['type']}`" in card
    for stream, ident in record["backbones"].items():
        assert f"| {stream} | {ident['family']} | `{ident['cls']}` | {ident['width']} | {ident['depth']} |" in card
    assert f"with mmadapt {mmadapt.__version__};" in card


def test_a_switched_off_adapter_reads_off_and_three_streams_are_listed(tmp_path):
    streams, _ = make_three()
    model = wrap_three(streams, fusion=None)
    model.save_adapter(tmp_path)
    card = _card(tmp_path)
    assert "- fusion: off" in card
    assert all(f"| {s} |" in card for s in ("audio", "video", "flow"))
    assert "audio=audio_vit, video=video_vit, flow=flow_vit" in card


@pytest.mark.parametrize("pair", PAIR_NAMES)
def test_the_cards_load_snippet_rebuilds_the_same_model(tmp_path, pair):
    audio, video, a_shape, v_shape = make_pair(pair)
    model = wrap(audio, video)
    randomise_gates(model)  # a trained-looking adapter: the fusion is not the identity
    model.save_adapter(tmp_path)
    code = re.search(r"```python\n(.*?)```", _card(tmp_path), re.S).group(1)
    fresh_audio, fresh_video, *_ = make_pair(pair)  # the same published backbones, not the wrapped objects
    namespace = {"audio_vit": fresh_audio, "video_vit": fresh_video}
    exec(code.replace("path/to/this/folder", str(tmp_path)), namespace)
    v, a = make_inputs(a_shape, v_shape)
    with torch.no_grad():
        assert torch.equal(namespace["model"](v, a), model(v, a))


def test_a_readme_written_by_a_person_is_kept_and_our_card_is_refreshed(tmp_path):
    audio, video, *_ = make_pair("timm+timm")
    model = wrap(audio, video)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / MODEL_CARD_NAME).write_text("# my notes\n", encoding="utf-8")
    model.save_adapter(mine)
    assert _card(mine) == "# my notes\n"
    ours = tmp_path / "ours"
    model.save_adapter(ours)
    (ours / MODEL_CARD_NAME).write_text(_card(ours).replace("adapter parameters", "stale"), encoding="utf-8")
    model.save_adapter(ours)
    assert "stale" not in _card(ours) and "adapter parameters" in _card(ours)
