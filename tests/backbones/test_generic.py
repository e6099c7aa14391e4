"""load_backbone: timm names, transformers configs and local directories, never downloading."""

import pytest
import torch
from safetensors.torch import save_file
from transformers import ViTConfig

from mmadapt.backbones import CheckpointError, load_backbone
from mmadapt.pos_embed import resample_grid_pos_embed

from ._fixtures import TINY

TIMM_TINY = {"embed_dim": 32, "depth": 2, "num_heads": 2, "num_classes": 0}


def _hf_tiny_config():
    return ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, image_size=32)


def test_timm_name_with_checkpoint_from_another_grid(tmp_path):
    source, _ = load_backbone("vit_base_patch16_224", img_size=64, **TIMM_TINY)  # 4x4 grid
    sd = {k: torch.randn_like(v) for k, v in source.state_dict().items()}
    path = tmp_path / "vit.safetensors"
    save_file(sd, str(path))
    model, report = load_backbone("vit_base_patch16_224", path, img_size=48, **TIMM_TINY)  # 3x3 grid
    expected = resample_grid_pos_embed(sd["pos_embed"], (4, 4), (3, 3))
    torch.testing.assert_close(model.pos_embed.detach(), expected, rtol=0, atol=0)
    assert report.resampled == {"pos_embed": ((1, 17, 32), (1, 10, 32))}
    for key, value in model.state_dict().items():
        if key != "pos_embed":
            assert torch.equal(value, sd[key]), key


def test_timm_strictness_and_patterns(tmp_path):
    model, _ = load_backbone("vit_base_patch16_224", img_size=32, num_classes=5, **TINY)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    sd["extra.weight"] = torch.zeros(1)
    path = tmp_path / "v.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"missing from the checkpoint: head\.bias, head\.weight"):
        load_backbone("vit_base_patch16_224", path, img_size=32, num_classes=5, **TINY)
    _, report = load_backbone(
        "vit_base_patch16_224", path, img_size=32, num_classes=5, ignore_keys=["extra.*"], keep_init=["head.*"], **TINY
    )
    assert report.ignored == ("extra.weight",) and set(report.initialised) == {"head.weight", "head.bias"}


def test_pretrained_true_is_refused():
    with pytest.raises(ValueError, match="never downloads"):
        load_backbone("vit_base_patch16_224", pretrained=True, **TIMM_TINY)


def test_unknown_spec():
    with pytest.raises(ValueError, match="cannot build a backbone from 'no_such_model'"):
        load_backbone("no_such_model")


def test_registered_name_goes_to_builder():
    model, report = load_backbone("maeface_vit_base", img_size=64, **TINY)
    assert model.pos_embed.shape == (1, 17, 32) and not report.pretrained
    with pytest.raises(ValueError, match="keep_init"):
        load_backbone("maeface_vit_base", keep_init=["x"], **TINY)


def test_hf_config_and_checkpoint(tmp_path):
    cfg = _hf_tiny_config()
    torch.manual_seed(0)
    donor, _ = load_backbone(cfg)
    path = tmp_path / "hf.safetensors"
    save_file({k: v.contiguous() for k, v in donor.state_dict().items()}, str(path))
    torch.manual_seed(1)
    model, report = load_backbone(cfg, path)
    assert set(report.loaded) == set(donor.state_dict())
    x = torch.randn(2, 3, 32, 32)
    donor.eval(), model.eval()
    torch.testing.assert_close(model(x).last_hidden_state, donor(x).last_hidden_state, rtol=0, atol=0)


def test_hf_local_directory(tmp_path):
    donor, _ = load_backbone(_hf_tiny_config())
    donor.save_pretrained(tmp_path)
    model, report = load_backbone(str(tmp_path))
    assert report.source == str(tmp_path) and not report.initialised
    assert all(torch.equal(model.state_dict()[k], v) for k, v in donor.state_dict().items())
