"""The builders at their real ViT-B size: parameter counts and a checkpoint round trip (random weights)."""

import pytest
import torch

from mmadapt.methods.mma_dfer import audiomae_vit_base, maeface_vit_base

# From OFFICIAL_SEMANTICS.md section 4: frozen backbones including their unused heads, excluding pos_embed.
OFFICIAL_FROZEN_AUDIO, AUDIO_HEAD = 86_023_144, 768 * 1000 + 1000
OFFICIAL_FROZEN_VISION, VISION_HEAD = 85_656_588, 768 * 12 + 12


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda ckpt=None: audiomae_vit_base(ckpt), OFFICIAL_FROZEN_AUDIO - AUDIO_HEAD + 257 * 768),
        (lambda ckpt=None: maeface_vit_base(ckpt, img_size=160), OFFICIAL_FROZEN_VISION - VISION_HEAD + 101 * 768),
    ],
    ids=["audiomae", "maeface160"],
)
def test_vit_base_round_trip(tmp_path, build, expected):
    model, _ = build()
    assert _count(model) == expected
    assert len(model.blocks) == 12 and model.embed_dim == 768 and model.blocks[0].attn.num_heads == 12
    assert model.blocks[-1].drop_path1.drop_prob == pytest.approx(0.1)  # linear ramp 0 -> 0.1
    path = tmp_path / "vitb.pth"
    torch.save({"model": model.state_dict()}, path)
    reloaded, report = build(path)
    assert set(report.loaded) == set(model.state_dict()) and not report.resampled
    assert all(torch.equal(reloaded.state_dict()[k], v) for k, v in model.state_dict().items())
