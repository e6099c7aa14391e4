"""`mmadapt info --presets`: every registered preset with its trainable parameters on the paper's pair (two ViT-B/16,
video at 160 px, built on the meta device) and the paper's Params (M) beside it where a table gives one."""

from __future__ import annotations

import pytest
import torch

import mmadapt
from mmadapt.backbones import create_backbone
from mmadapt.cli import main


@pytest.fixture(scope="module")
def table() -> dict[str, list[str]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["info", "--presets"]) == 0
    rows = {}
    for line in out.getvalue().splitlines()[2:]:
        name, count, paper, *_ = line.split()
        rows[name] = [count, paper]
    return rows


def _count(preset: str, streams=("audio", "video")) -> int:
    with torch.device("meta"):
        pair = {
            "audio": create_backbone("audiomae_vit_base").model,
            "video": create_backbone("maeface_vit_base", img_size=160).model,
        }
        model = mmadapt.wrap_encoders({s: pair[s] for s in streams}, preset=preset, num_classes=7)
    return model.get_nb_trainable_parameters()[0]


def test_every_registered_preset_has_a_row(table):
    assert sorted(table) == mmadapt.list_presets()


@pytest.mark.parametrize("preset", ["mma-dfer", "mma-dfer-latent-512", "mma-dfer-fusion-mult", "claip-emo"])
def test_the_count_is_the_models_own(table, preset):
    assert table[preset][0] == f"{_count(preset):,d}"


def test_one_stream_presets_are_counted_on_their_stream(table):
    assert table["mma-dfer-video-only"][0] == f"{_count('mma-dfer-video-only', ('video',)):,d}"


def test_the_papers_figure_stands_beside_ours(table):
    assert table["mma-dfer"][1] == "7.5" and table["mma-dfer-latent-64"][1] == "5.9"
    assert table["mma-dfer-fusion-mult"][1] == "-"  # Table 3 prints no parameter counts
