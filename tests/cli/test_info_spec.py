"""`mmadapt info SPEC` describes any backbone spec, or says in one line (exit 2) why it cannot.

Specification: for a timm name (+ kwargs), a weights file (+ --arch), a local Hugging Face folder, an inline
``model.<stream>`` mapping or an experiment file, it prints family, class, width, depth, heads, patch size,
native input size, prefix tokens and parameter count, and the trainable parameters of the default preset on the
backbone as one stream: the count of the one-stream model that wrapping it really builds.
"""

from __future__ import annotations

import json
import re

import pytest
import torch
import yaml

import mmadapt
from mmadapt.anatomy import resolve_anatomy
from mmadapt.cli import main
from tests.anatomy._families import DEPTH, FAMILIES, HEADS, WIDTH

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")

HF_FAMILIES = {  # test family -> the anatomy family mmadapt reports (Data2Vec vision is read as BEiT)
    "hf-vit": "hf-vit",
    "hf-ast": "hf-ast",
    "hf-dinov2": "hf-dinov2",
    "hf-clip-vision": "hf-clip-vision",
    "hf-vit-mae": "hf-vit-mae",
    "hf-beit": "hf-beit",
    "hf-data2vec-vision": "hf-beit",
}
TIMM_TINY = {"img_size": 32, "patch_size": 8, "embed_dim": WIDTH, "depth": DEPTH, "num_heads": HEADS, "num_classes": 0}
TIMM_NAMES = {"timm-vit": "vit_base_patch16_224", "timm-eva": "eva02_tiny_patch14_224"}


def _info(argv, capsys) -> dict[str, str]:
    assert main(["info", *argv]) == 0
    return _facts(capsys.readouterr().out)


def _facts(out: str) -> dict[str, str]:
    """``key  value`` lines (two or more spaces apart) and ``key: value`` lines as a dict, first one wins."""
    facts: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"(\S.*?)(?:\s{2,}|(?<=:) )(\S.*)$", line.strip())  # "key  value" or "key: value"
        if match:
            facts.setdefault(*match.groups())
    return facts


def _one_stream_trainable(model: torch.nn.Module) -> int:
    wrapped = mmadapt.wrap_encoders({"video": model}, preset="mma-dfer", num_classes=7, fusion=None)
    try:
        return wrapped.get_nb_trainable_parameters()[0]
    finally:
        wrapped.detach()


def _check(facts: dict[str, str], model: torch.nn.Module, family: str) -> None:
    identity = resolve_anatomy(model).identity()
    assert facts["family"] == family == identity.family
    assert facts["class"] == identity.cls
    assert (facts["width"], facts["depth"], facts["heads"]) == (str(WIDTH), str(DEPTH), str(HEADS))
    assert facts["patch size"] == "x".join(map(str, identity.patch_size))
    assert facts["native input size"].split()[0] == "x".join(map(str, identity.input_size))
    assert facts["prefix tokens"] == str(identity.num_prefix_tokens)
    assert facts["parameters"] == f"{sum(p.numel() for p in model.parameters()):,d} (frozen)"
    assert facts["total"] == f"{_one_stream_trainable(model):,d}"


@pytest.mark.parametrize("family", sorted(HF_FAMILIES))
def test_a_local_hf_folder_is_described(family, tmp_path, capsys):
    from transformers import AutoModel

    FAMILIES[family].build().save_pretrained(tmp_path / family)
    facts = _info([str(tmp_path / family)], capsys)
    # the model as the folder loads (Data2Vec's AutoModel has no pooler: the saved one is reported as ignored)
    _check(facts, AutoModel.from_pretrained(tmp_path / family), HF_FAMILIES[family])
    assert facts["weights:"].startswith(str(tmp_path / family))  # the folder's own weights, loaded


@pytest.mark.parametrize("family", sorted(TIMM_NAMES))
def test_a_timm_name_with_kwargs_is_described(family, capsys):
    import timm

    facts = _info([TIMM_NAMES[family], "--kwargs", json.dumps(TIMM_TINY)], capsys)
    _check(facts, timm.create_model(TIMM_NAMES[family], **TIMM_TINY), family)
    assert facts["weights:"] == "random (no checkpoint given)"


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_a_weights_file_is_described_with_its_arch(suffix, tmp_path, capsys):
    import timm
    from safetensors.torch import save_file

    model = timm.create_model("vit_base_patch16_224", **{**TIMM_TINY, "img_size": 48})  # resampled to 32 px
    path = tmp_path / f"vit{suffix}"
    save_file(model.state_dict(), path) if suffix == ".safetensors" else torch.save({"model": model.state_dict()}, path)
    facts = _info([str(path), "--arch", "vit_base_patch16_224", "--kwargs", json.dumps(TIMM_TINY)], capsys)
    assert (facts["family"], facts["native input size"]) == ("timm-vit", "32x32")
    assert facts["weights:"].startswith(f"{path}: ") and "1 resampled (pos_embed)" in facts["weights:"]


def test_the_input_size_and_stream_are_where_the_preset_attaches(capsys):
    out_native = _info(["vit_base_patch16_224", "--kwargs", json.dumps(TIMM_TINY)], capsys)
    assert (
        main(
            [
                "info",
                "vit_base_patch16_224",
                "--kwargs",
                json.dumps(TIMM_TINY),
                "--input-size",
                "64",
                "--stream",
                "audio",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "as stream 'audio' at 64x64" in out
    big, native = _facts(out)["pos_embeds"], out_native["pos_embeds"]
    assert int(big.replace(",", "")) == (1 + 8 * 8) * WIDTH and int(native.replace(",", "")) == (1 + 4 * 4) * WIDTH


def test_an_inline_model_stream_mapping_is_described(tmp_path, capsys):
    spec = yaml.safe_dump({"name": "vit_base_patch16_224", "kwargs": TIMM_TINY}, default_flow_style=True)
    assert _info([spec.strip()], capsys)["family"] == "timm-vit"


def test_an_experiment_file_describes_both_streams_at_its_data_sizes(tmp_path, capsys):
    vit = {k: v for k, v in TIMM_TINY.items() if k != "img_size"}
    experiment = {
        "model": {
            "num_classes": 3,
            "audio": {"name": "vit_base_patch16_224", "kwargs": {**vit, "img_size": [32, 16], "in_chans": 1}},
            "video": {"name": "vit_base_patch16_224", "kwargs": {**vit, "img_size": 32}},
        },
        "data": {"transform": {"img_size": 16}, "audio": {"num_mel_bins": 16, "target_frames": 32}},
    }
    config = tmp_path / "exp.yaml"
    config.write_text(yaml.safe_dump(experiment), encoding="utf-8")
    assert main(["info", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"{config} model.audio" in out and f"{config} model.video" in out
    assert "as stream 'audio' at 32x16" in out and "as stream 'video' at 16x16" in out
    assert main(["info", str(config), "--stream", "audio"]) == 0
    assert "model.video" not in capsys.readouterr().out


def test_help_names_every_spec_form(capsys):
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    text = capsys.readouterr().out
    for form in (
        "NAME",
        "FOLDER",
        "FILE.safetensors",
        "EXPERIMENT.yaml",
        "{name: N, kwargs: {...}, checkpoint: F}",
        "--arch",
        "--kwargs",
        "--input-size",
    ):
        assert form in text, form


def test_without_spec_the_pair_table_is_unchanged(capsys):
    assert main(["info", "--video-backbone", "maeface_vit_base", "--img-size", "160"]) == 0
    out = capsys.readouterr().out
    assert "preset mma-dfer: audio audiomae_vit_base, video maeface_vit_base @ 160px" in out
    assert "7,556,639" in out  # the official count at 160 px (README)


# ---- bad specs: one line, exit 2 --------------------------------------------------------------------------
def _empty(tmp_path):
    (tmp_path / "empty").mkdir()
    return [str(tmp_path / "empty")]


def _bad_config_json(tmp_path):
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text('{"model_type": "no-such-type"}', encoding="utf-8")
    return [str(tmp_path / "odd")]


def _weights_only(tmp_path):
    torch.save({"w": torch.zeros(1)}, tmp_path / "w.pth")
    return [str(tmp_path / "w.pth")]


def _wrong_width(tmp_path):
    import timm
    from safetensors.torch import save_file

    save_file(
        timm.create_model("vit_base_patch16_224", **{**TIMM_TINY, "embed_dim": 16}).state_dict(),
        tmp_path / "w.safetensors",
    )
    return [str(tmp_path / "w.safetensors"), "--arch", "vit_base_patch16_224", "--kwargs", json.dumps(TIMM_TINY)]


def _unsupported_hf(tmp_path):
    from transformers import VideoMAEConfig, VideoMAEModel

    cfg = VideoMAEConfig(
        hidden_size=WIDTH,
        num_hidden_layers=1,
        num_attention_heads=HEADS,
        intermediate_size=WIDTH,
        image_size=16,
        patch_size=8,
        num_frames=2,
        tubelet_size=2,
    )
    VideoMAEModel(cfg).save_pretrained(tmp_path / "videomae")
    return [str(tmp_path / "videomae")]


BAD = {
    "unknown name": (lambda t: ["vit_tiny_patch16_22"], "did you mean 'vit_tiny_patch16_224'"),
    "missing folder": (lambda t: [str(t / "nowhere")], "not found"),
    "folder that is not a model": (_empty, "not a Hugging Face model folder (no config.json"),
    "folder with a broken config": (_bad_config_json, "cannot be loaded as a transformers model"),
    "unsupported timm class": (lambda t: ["resnet10t"], "no anatomy is registered for timm.models.resnet.ResNet"),
    "unsupported HF class": (_unsupported_hf, "no anatomy is registered for transformers.models.videomae"),
    "weights file without --arch": (_weights_only, "holds no architecture: name it with --arch"),
    "weights that do not fit": (_wrong_width, "w.safetensors"),
    "bad --kwargs": (lambda t: ["vit_base_patch16_224", "--kwargs", "[1, 2]"], "--kwargs '[1, 2]': expected a YAML"),
    "unknown constructor keyword": (lambda t: ["vit_base_patch16_224", "--kwargs", "{bogus: 1}"], "bogus"),
    "unknown key in an inline spec": (lambda t: ["{nam: vit_base_patch16_224}"], "did you mean 'name'"),
    "--arch without a weights file": (lambda t: ["vit_base_patch16_224", "--arch", "x"], "only with a weights file"),
    "a size the family cannot run at": (
        lambda t: ["vit_base_patch16_224", "--kwargs", json.dumps(TIMM_TINY), "--input-size", "30"],
        "not a multiple of the patch size",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_spec_is_one_line_and_exit_2(case, tmp_path, capsys):
    make_argv, expected = BAD[case]
    argv = make_argv(tmp_path)
    capsys.readouterr()  # drop what building the fixtures printed
    assert main(["info", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("mmadapt info: error: ") and expected in err, err


def test_a_run_folder_is_described_by_its_experiment(trained, capsys):
    """`info RUN` read the run's config.json as a transformers config (found by a new-user review)."""
    from mmadapt.cli import main

    for folder in (trained.out, trained.out / "adapter"):
        assert main(["info", str(folder)]) == 0
        out = capsys.readouterr().out
        assert "width" in out and "32" in out and "model_type" not in out
