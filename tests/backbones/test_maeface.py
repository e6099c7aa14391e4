"""maeface_vit_base: 14x14 MAE-Face grid resized to the model's, identity at 224, heads never loaded."""

import pytest
import torch

from mmadapt.backbones import CheckpointError
from mmadapt.methods.mma_dfer import maeface_vit_base

from ._fixtures import TINY, pretraining_state_dict, reference_resample, save_pretraining


@pytest.fixture(scope="module")
def maeface(tmp_path_factory):
    sd = pretraining_state_dict((224, 224), in_chans=3, seed=3)
    sd["head.weight"], sd["head.bias"] = torch.randn(12, TINY["embed_dim"]), torch.randn(12)
    return save_pretraining(tmp_path_factory.mktemp("ckpt") / "mae_face.pth", sd), sd


@pytest.mark.parametrize("img_size", [112, 160])
def test_resized_grid(maeface, img_size):
    path, sd = maeface
    model, report = maeface_vit_base(path, img_size=img_size, **TINY)
    side = img_size // 16
    expected = reference_resample(sd["pos_embed"], (14, 14), (side, side))
    torch.testing.assert_close(model.pos_embed.detach(), expected, rtol=0, atol=0)
    for key, value in model.state_dict().items():
        if key != "pos_embed":
            assert torch.equal(value, sd[key]), key
    assert set(report.resampled) == {"pos_embed"}
    assert {"head.weight", "head.bias", "mask_token"} <= set(report.ignored)


def test_identity_at_224(maeface):
    path, sd = maeface
    model, report = maeface_vit_base(path, img_size=224, **TINY)
    assert torch.equal(model.pos_embed.detach(), sd["pos_embed"])
    assert "pos_embed" in report.loaded and not report.resampled


def test_forced_resize_at_224_gives_back_the_values(maeface):
    """Running the bicubic resize 14x14 -> 14x14 (as the official code does) changes nothing."""
    _, sd = maeface
    pos = sd["pos_embed"]
    assert torch.equal(reference_resample(pos, (14, 14), (14, 14)), pos)


def test_no_head_by_default_and_fresh_head_on_request(maeface):
    path, sd = maeface
    plain, _ = maeface_vit_base(path, **TINY)
    assert plain.num_classes == 0 and not any(k.startswith("head") for k in plain.state_dict())
    headed, report = maeface_vit_base(path, num_classes=7, **TINY)
    assert headed.head.weight.shape == (7, TINY["embed_dim"])
    assert set(report.initialised) == {"head.weight", "head.bias"}
    assert {"head.weight", "head.bias"} <= set(report.ignored)


def test_forward_returns_normed_cls(maeface):
    path, _ = maeface
    model, _ = maeface_vit_base(path, img_size=160, **TINY)
    model.eval()
    x = torch.rand(3, 3, 160, 160)
    feats = model.forward_features(x)
    assert feats.shape == (3, 101, TINY["embed_dim"])
    torch.testing.assert_close(model(x), feats[:, 0], rtol=0, atol=0)


def test_wrong_input_size_rejected():
    model, _ = maeface_vit_base(img_size=112, **TINY)
    with pytest.raises(AssertionError, match="112"):
        model(torch.rand(1, 3, 128, 128))


def test_audio_checkpoint_refused_naming_channels(tmp_path):
    mono = pretraining_state_dict((224, 224), in_chans=1, seed=4)
    with pytest.raises(CheckpointError, match="1 input channels, model takes 3"):
        maeface_vit_base(save_pretraining(tmp_path / "mono.pth", mono), **TINY)


def test_bad_config_rejected():
    with pytest.raises(ValueError, match="not a multiple of patch_size"):
        maeface_vit_base(img_size=150)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        maeface_vit_base(embed_dim=30, num_heads=4)
