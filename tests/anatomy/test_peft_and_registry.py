"""Backbones wrapped by PEFT resolve to their family and still run stage by stage; others are refused."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmadapt.anatomy import list_anatomies, resolve_anatomy
from mmadapt.errors import UnsupportedBackboneError

from ._families import FAMILIES, make_input, staged

peft = pytest.importorskip("peft")


def _lora_targets(model: nn.Module, candidates: list[list[str]]) -> list[str]:
    # transformers 5.x names ViT projections q_proj/v_proj, 4.x query/value
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    return next(c for c in candidates if set(c) <= names)


@pytest.mark.parametrize(
    ("name", "candidates"),
    [("timm-vit", [["qkv"]]), ("hf-vit", [["q_proj", "v_proj"], ["query", "value"]])],
)
def test_lora_wrapped_backbone_runs_stage_by_stage(name: str, candidates: list[list[str]]) -> None:
    family = FAMILIES[name]
    model = family.build()
    x = make_input(family)
    first_block = resolve_anatomy(model).blocks[0]
    with torch.no_grad():
        plain_tokens, _ = family.reference(model, x)

    wrapped = peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=_lora_targets(model, candidates)))
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for layer in wrapped.modules():
            if isinstance(getattr(layer, "lora_B", None), nn.ModuleDict):
                for lin in layer.lora_B.values():
                    lin.weight.copy_(torch.randn(lin.weight.shape, generator=g))  # LoRA starts as a no-op

    anatomy = resolve_anatomy(wrapped)
    assert anatomy.root is wrapped
    assert anatomy.model is wrapped.get_base_model()
    assert anatomy.blocks[0] is first_block  # PEFT keeps the block objects
    with torch.no_grad():
        ref_tokens, ref_pooled = family.reference(anatomy.model, x)
        tokens = staged(anatomy, x)
        pooled = anatomy.pool(tokens)
    assert not torch.equal(ref_tokens, plain_tokens)  # the LoRA layers are live
    assert torch.equal(tokens, ref_tokens)
    assert torch.equal(pooled, ref_pooled)


def _videomae() -> nn.Module:
    from transformers import VideoMAEConfig, VideoMAEModel

    return VideoMAEModel(
        VideoMAEConfig(
            image_size=16,
            patch_size=8,
            num_frames=2,
            tubelet_size=2,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
        )
    )


def _swin() -> nn.Module:
    from transformers import SwinConfig, SwinModel

    return SwinModel(SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1], num_heads=[2], window_size=4))


@pytest.mark.parametrize("build", [_videomae, _swin], ids=["VideoMAEModel", "SwinModel"])
def test_other_families_are_refused_by_name(build) -> None:
    model = build()
    with pytest.raises(UnsupportedBackboneError) as err:
        resolve_anatomy(model)
    msg = str(err.value)
    assert type(model).__name__ in msg
    for supported in ("ViTModel", "Eva", "CLIPVisionModel", "BeitModel", "VisionTransformer"):
        assert supported in msg


def test_every_family_is_registered() -> None:
    expected = {"timm-vit", "timm-eva", "hf-vit", "hf-ast", "hf-dinov2", "hf-clip-vision", "hf-vit-mae", "hf-beit"}
    assert expected <= set(list_anatomies().values())


def test_vit_mae_with_masking_is_refused() -> None:
    from transformers import ViTMAEConfig, ViTMAEModel

    model = ViTMAEModel(
        ViTMAEConfig(
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            image_size=16,
            patch_size=8,
        )
    )
    assert model.config.mask_ratio > 0
    with pytest.raises(UnsupportedBackboneError, match="mask_ratio"):
        resolve_anatomy(model)
