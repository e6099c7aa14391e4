"""audiomae_vit_base: AudioMAE pre-training checkpoints load with the official time-axis resize."""

import pytest
import torch

from mmadapt.backbones import CheckpointError, create_backbone
from mmadapt.methods.mma_dfer import audiomae_vit_base

from ._fixtures import TINY, pretraining_state_dict, reference_resample, save_pretraining

DECODER_KEYS = {k for k in pretraining_state_dict((1024, 128), 1, 0) if k.startswith("decoder") or k == "mask_token"}


@pytest.fixture(scope="module")
def audiomae_file(tmp_path_factory):
    sd = pretraining_state_dict((1024, 128), in_chans=1, seed=1)
    return save_pretraining(tmp_path_factory.mktemp("ckpt") / "audiomae_pretrained.pth", sd), sd


def test_random_model_shape_and_forward():
    model, report = audiomae_vit_base(**TINY)
    assert model.pos_embed.shape == (1, 1 + 32 * 8, TINY["embed_dim"])
    assert model.patch_embed.proj.weight.shape == (TINY["embed_dim"], 1, 16, 16)
    assert model.num_classes == 0 and model.norm.eps == 1e-6
    assert not report.pretrained and report.source is None
    model.eval()
    x = torch.randn(2, 1, 512, 128)
    feats = model.forward_features(x)
    assert feats.shape == (2, 257, TINY["embed_dim"])
    torch.testing.assert_close(model(x), feats[:, 0], rtol=0, atol=0)  # CLS after the final norm


def test_loads_pretraining_checkpoint(audiomae_file):
    path, sd = audiomae_file
    model, report = audiomae_vit_base(path, **TINY)
    state = model.state_dict()
    expected = reference_resample(sd["pos_embed"], (64, 8), (32, 8))
    torch.testing.assert_close(state["pos_embed"], expected, rtol=0, atol=0)
    for key in state:
        if key != "pos_embed":
            assert torch.equal(state[key], sd[key]), key
    assert report.source == str(path)
    assert set(report.loaded) == set(state) - {"pos_embed"}
    assert report.resampled == {"pos_embed": ((1, 513, TINY["embed_dim"]), (1, 257, TINY["embed_dim"]))}
    assert set(report.ignored) == DECODER_KEYS
    assert report.initialised == ()


def test_other_frame_counts(audiomae_file):
    path, sd = audiomae_file
    model, _ = audiomae_vit_base(path, frames=256, **TINY)
    expected = reference_resample(sd["pos_embed"], (64, 8), (16, 8))
    torch.testing.assert_close(model.pos_embed.detach(), expected, rtol=0, atol=0)


def test_registry_entry_is_the_builder(audiomae_file):
    path, _ = audiomae_file
    a, _ = create_backbone("audiomae_vit_base", path, **TINY)
    b, _ = audiomae_vit_base(path, **TINY)
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def test_missing_key_is_named(tmp_path, audiomae_file):
    _, sd = audiomae_file
    broken = {k: v for k, v in sd.items() if k != "blocks.1.mlp.fc2.bias"}
    with pytest.raises(CheckpointError, match=r"missing from the checkpoint: blocks\.1\.mlp\.fc2\.bias"):
        audiomae_vit_base(save_pretraining(tmp_path / "m.pth", broken), **TINY)


def test_wrong_shape_is_named(tmp_path, audiomae_file):
    _, sd = audiomae_file
    broken = dict(sd, **{"blocks.0.attn.qkv.weight": torch.zeros(96, 16)})
    match = r"blocks\.0\.attn\.qkv\.weight: checkpoint \(96, 16\) vs model \(96, 32\)"
    with pytest.raises(CheckpointError, match=match):
        audiomae_vit_base(save_pretraining(tmp_path / "s.pth", broken), **TINY)


def test_rgb_checkpoint_is_refused_naming_channels(tmp_path):
    rgb = pretraining_state_dict((1024, 128), in_chans=3, seed=2)
    with pytest.raises(CheckpointError, match="3 input channels, model takes 1"):
        audiomae_vit_base(save_pretraining(tmp_path / "rgb.pth", rgb), **TINY)


def test_unknown_extra_key_is_refused_unless_ignored(tmp_path, audiomae_file):
    _, sd = audiomae_file
    path = save_pretraining(tmp_path / "x.pth", dict(sd, **{"blocks.2.norm1.weight": torch.ones(32)}))
    with pytest.raises(CheckpointError, match=r"not in the model.*blocks\.2\.norm1\.weight"):
        audiomae_vit_base(path, **TINY)
    _, report = audiomae_vit_base(path, ignore_keys=("blocks.2.*",), **TINY)
    assert "blocks.2.norm1.weight" in report.ignored


def test_pos_grid_that_does_not_fit_frequency_rows(tmp_path, audiomae_file):
    _, sd = audiomae_file
    path = save_pretraining(tmp_path / "g.pth", dict(sd, pos_embed=torch.zeros(1, 1 + 500, 32)))
    with pytest.raises(CheckpointError, match=r"g\.pth.*pos_embed \(1, 501, 32\).*500 grid tokens"):
        audiomae_vit_base(path, **TINY)
