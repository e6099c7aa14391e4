"""``mmadapt convert-official`` end to end on a small official-layout file, then ``load_converted``."""

import json

import torch

from mmadapt.cli import main
from mmadapt.methods.mma_dfer.convert import from_official, load_converted, to_official

from ..official._keys import TINY_HEADS, TINY_TEMPORAL_HEADS
from ._helpers import TINY, TOL, assert_bit_exact, inputs, reference_logits, tiny_state_dict

S = 160
FILES = (
    "adapter_config.json",
    "adapter_model.safetensors",
    "audio_backbone.safetensors",
    "video_backbone.safetensors",
    "official_extras.safetensors",
    "converted_backbones.json",
)


def _args(ckpt, out, *extra):
    return [
        "convert-official",
        str(ckpt),
        "--img-size",
        str(S),
        "--num-classes",
        "7",
        "--out",
        str(out),
        "--num-heads",
        str(TINY_HEADS),
        "--temporal-heads",
        str(TINY_TEMPORAL_HEADS),
        *extra,
    ]


def test_convert_then_load_gives_the_same_model(tmp_path, capsys):
    sd = tiny_state_dict(S, seed=5)
    ckpt = tmp_path / "model.pth"
    torch.save({"epoch": 25, "state_dict": {"module." + k: v for k, v in sd.items()}}, ckpt)
    out = tmp_path / "converted"

    assert main(_args(ckpt, out)) == 0
    printed = capsys.readouterr().out
    # no temporary files left behind; the adapter's model card comes with it
    assert sorted(p.name for p in out.iterdir()) == sorted([*FILES, "README.md"])
    for name in FILES:
        assert name in printed
    assert "492 mapped, 8 dropped" in printed and "total" in printed and "MiB" in printed
    manifest = json.loads((out / "converted_backbones.json").read_text())
    assert manifest["backbones"]["video"]["builder"] == "maeface_vit_base"
    assert manifest["backbones"]["video"]["kwargs"]["img_size"] == S
    assert manifest["backbones"]["audio"]["kwargs"]["frames"] == 512

    loaded = load_converted(out)
    direct = from_official(ckpt, S, 7, **TINY).model
    video, audio = inputs(S, 4, n=2)
    with torch.no_grad():
        a, b = loaded(video, audio), direct(video, audio)
    assert torch.equal(a, b)
    assert (a - reference_logits(sd, video, audio, S, TINY)).abs().max().item() < TOL
    assert_bit_exact(to_official(loaded), sd)
    assert not loaded.training and loaded.get_nb_trainable_parameters() == direct.get_nb_trainable_parameters()


def test_cli_errors_exit_2_with_the_reason(tmp_path, capsys):
    sd = tiny_state_dict(S)
    ckpt = tmp_path / "model.pth"
    torch.save({"state_dict": sd}, ckpt)
    wrong = [a if a != str(S) else "224" for a in _args(ckpt, tmp_path / "out")]
    assert main(wrong) == 2
    assert "trained at img_size=160" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing written for a refused checkpoint
    assert main(_args(ckpt, tmp_path / "out")) == 0
    assert main(_args(ckpt, tmp_path / "out")) == 2
    assert "pass --overwrite to replace it" in capsys.readouterr().err  # the word every other command uses
    assert main(_args(ckpt, tmp_path / "out", "--overwrite")) == 0
    assert main(_args(ckpt, tmp_path / "out", "--force")) == 0  # the older name still works
