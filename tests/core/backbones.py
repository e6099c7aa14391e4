"""Tiny, seeded backbones of every supported family, for the contract matrix.

Each factory returns ``(model, input_shape)`` with ``input_shape`` = (C, H, W) of one frame / spectrogram.
Widths, depths and sizes differ between families on purpose, so pairs exercise mismatched encoders.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Factory = Callable[[int], tuple[nn.Module, tuple[int, int, int]]]


def timm_vit(in_chans: int = 3, size: tuple[int, int] = (32, 32), **kw) -> tuple[nn.Module, tuple[int, int, int]]:
    from timm.models.vision_transformer import VisionTransformer

    args = dict(img_size=size, patch_size=8, in_chans=in_chans, embed_dim=32, depth=4, num_heads=2, num_classes=0)
    args.update(kw)
    return VisionTransformer(**args).eval(), (in_chans, *size)


def timm_deit_distilled(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from timm.models.deit import VisionTransformerDistilled

    m = VisionTransformerDistilled(
        img_size=32, patch_size=8, in_chans=in_chans, embed_dim=32, depth=2, num_heads=2, num_classes=0
    )
    return m.eval(), (in_chans, 32, 32)


def timm_eva(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from timm.models.eva import Eva

    m = Eva(
        img_size=32,
        patch_size=8,
        in_chans=in_chans,
        embed_dim=48,
        depth=3,
        num_heads=3,
        num_classes=0,
        use_rot_pos_emb=True,
        ref_feat_shape=(4, 4),
    )
    return m.eval(), (in_chans, 32, 32)


def _hf_common(**kw):
    base = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    base.update(kw)
    return base


def hf_vit(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import ViTConfig, ViTModel

    cfg = ViTConfig(**_hf_common(image_size=32, patch_size=8, num_channels=in_chans))
    return ViTModel(cfg, add_pooling_layer=False).eval(), (in_chans, 32, 32)


def hf_ast(in_chans: int = 1) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import ASTConfig, ASTModel

    cfg = ASTConfig(**_hf_common(patch_size=16, frequency_stride=16, time_stride=16, max_length=64, num_mel_bins=32))
    return ASTModel(cfg).eval(), (1, 64, 32)


def hf_dinov2(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import Dinov2Config, Dinov2Model

    cfg = Dinov2Config(
        **_hf_common(hidden_size=48, num_attention_heads=3, image_size=32, patch_size=8, num_channels=in_chans)
    )
    return Dinov2Model(cfg).eval(), (in_chans, 32, 32)


def hf_clip(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    cfg = CLIPVisionConfig(**_hf_common(hidden_size=40, image_size=32, patch_size=8, num_channels=in_chans))
    return CLIPVisionModel(cfg).eval(), (in_chans, 32, 32)


def hf_vitmae(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import ViTMAEConfig, ViTMAEModel

    cfg = ViTMAEConfig(**_hf_common(image_size=32, patch_size=8, num_channels=in_chans, mask_ratio=0.0))
    return ViTMAEModel(cfg).eval(), (in_chans, 32, 32)


def hf_beit(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import BeitConfig, BeitModel

    cfg = BeitConfig(
        **_hf_common(
            image_size=32, patch_size=8, num_channels=in_chans, use_relative_position_bias=True, use_mean_pooling=True
        )
    )
    return BeitModel(cfg).eval(), (in_chans, 32, 32)


def hf_data2vec(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
    from transformers import Data2VecVisionConfig, Data2VecVisionModel

    cfg = Data2VecVisionConfig(
        **_hf_common(image_size=32, patch_size=8, num_channels=in_chans, use_relative_position_bias=True)
    )
    return Data2VecVisionModel(cfg).eval(), (in_chans, 32, 32)


def lora(factory: Callable[..., tuple[nn.Module, tuple[int, int, int]]], targets: list[str]):
    def make(in_chans: int = 3) -> tuple[nn.Module, tuple[int, int, int]]:
        from peft import LoraConfig, get_peft_model

        model, shape = factory(in_chans)
        peft_model = get_peft_model(
            model, LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False)
        )
        return peft_model.eval(), shape

    return make


def build(factory, in_chans: int, seed: int) -> tuple[nn.Module, tuple[int, int, int]]:
    torch.manual_seed(seed)
    return factory(in_chans)


# (audio family, video family) pairs named in the contract; audio backbones take one input channel
PAIRS: dict[str, tuple[Callable, Callable]] = {
    "timm+timm": (lambda c: timm_vit(c, size=(64, 32), depth=4, embed_dim=48, num_heads=3), timm_vit),
    "ast+timm": (hf_ast, timm_vit),
    "hfvit+clip": (hf_vit, hf_clip),
    "dinov2+vitmae": (hf_dinov2, hf_vitmae),
    "eva+beit": (timm_eva, hf_beit),
    "timm-reg+deit": (lambda c: timm_vit(c, reg_tokens=2), timm_deit_distilled),
    "timm-avg+data2vec": (lambda c: timm_vit(c, class_token=False, global_pool="avg"), hf_data2vec),
    "lora-timm": (lora(lambda c: timm_vit(c, size=(64, 32)), ["qkv"]), lora(timm_vit, ["qkv"])),
}
