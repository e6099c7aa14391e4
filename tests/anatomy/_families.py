"""Tiny seeded backbones of every registered family, with each family's own public forward as reference.

Every parameter is redrawn from a seeded normal after construction: families zero-initialise things that
matter here (BEiT bias tables, CLS tokens), and a zero would hide a wrong fix-up.

Legend: B batch, N tokens, D width.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

WIDTH = 32
DEPTH = 2
HEADS = 2
IMG = 32
PATCH = 8
BATCH = 2


@dataclass(frozen=True)
class Family:
    """How to build one tiny backbone, feed it, and read its outputs through its public forward."""

    name: str
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]  # what the anatomy takes: (B, C, H, W)
    # (model, x) -> (final tokens (B, N, D), the family's pooled features (B, D)) via its public forward
    reference: Callable[[nn.Module, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
    # families that average tokens: (model, tokens without prompts) -> the pooled features, computed by hand
    manual_mean: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None
    prefix: int = 1
    grid: tuple[int, int] = (IMG // PATCH, IMG // PATCH)
    slots: tuple[str, ...] = ()


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model


def _seeded(build: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        torch.manual_seed(0)
        return randomise(build()).eval()

    return make


# ---- timm -----------------------------------------------------------------------------------------------
def _timm_vit() -> nn.Module:
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(
        img_size=IMG, patch_size=PATCH, embed_dim=WIDTH, depth=DEPTH, num_heads=HEADS, num_classes=0
    )


def _timm_eva() -> nn.Module:
    from timm.models.eva import Eva

    return Eva(
        img_size=IMG,
        patch_size=PATCH,
        embed_dim=WIDTH,
        depth=DEPTH,
        num_heads=HEADS,
        num_classes=0,
        use_rot_pos_emb=True,
        ref_feat_shape=(IMG // PATCH, IMG // PATCH),
    )


def _timm_eva_mixed() -> nn.Module:
    from timm.models.eva import Eva

    return Eva(
        img_size=IMG,
        patch_size=PATCH,
        embed_dim=WIDTH,
        depth=DEPTH,
        num_heads=HEADS,
        num_classes=0,
        use_rot_pos_emb=True,
        rope_type="mixed",
        attn_type="rope",
        num_reg_tokens=1,
        global_pool="token",
    )


def _timm_reference(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return model.forward_features(x), model(x)  # num_classes=0: forward() returns the pooled features


# ---- transformers ---------------------------------------------------------------------------------------
def _common() -> dict:
    return dict(
        hidden_size=WIDTH,
        num_hidden_layers=DEPTH,
        num_attention_heads=HEADS,
        intermediate_size=2 * WIDTH,
        image_size=IMG,
        patch_size=PATCH,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


def _hf_vit() -> nn.Module:
    from transformers import ViTConfig, ViTModel

    return ViTModel(ViTConfig(**_common()))


AST_FRAMES, AST_MELS, AST_PATCH, AST_STRIDE = 24, 16, 8, 4


def _hf_ast() -> nn.Module:
    from transformers import ASTConfig, ASTModel

    cfg = {k: v for k, v in _common().items() if k != "image_size"}
    cfg.update(
        patch_size=AST_PATCH,
        frequency_stride=AST_STRIDE,
        time_stride=AST_STRIDE,
        max_length=AST_FRAMES,
        num_mel_bins=AST_MELS,
    )
    return ASTModel(ASTConfig(**cfg))


def _hf_dinov2() -> nn.Module:
    from transformers import Dinov2Config, Dinov2Model

    cfg = {k: v for k, v in _common().items() if k != "intermediate_size"}
    return Dinov2Model(Dinov2Config(mlp_ratio=2, **cfg))


def _hf_clip() -> nn.Module:
    from transformers import CLIPVisionConfig, CLIPVisionModel

    return CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=WIDTH,
            intermediate_size=2 * WIDTH,
            num_hidden_layers=DEPTH,
            num_attention_heads=HEADS,
            image_size=IMG,
            patch_size=PATCH,
        )
    )


def _hf_mae() -> nn.Module:
    from transformers import ViTMAEConfig, ViTMAEModel

    return ViTMAEModel(ViTMAEConfig(mask_ratio=0.0, **_common()))


def _hf_beit() -> nn.Module:
    # per-layer relative bias + absolute positions + mean pooler
    from transformers import BeitConfig, BeitModel

    cfg = BeitConfig(
        use_relative_position_bias=True,
        use_shared_relative_position_bias=False,
        use_absolute_position_embeddings=True,
        use_mean_pooling=True,
        drop_path_rate=0.0,
        **_common(),
    )
    return BeitModel(cfg, add_pooling_layer=True)


def _hf_beit_shared() -> nn.Module:
    # one shared relative bias, CLS pooling
    from transformers import BeitConfig, BeitModel

    cfg = BeitConfig(
        use_relative_position_bias=False,
        use_shared_relative_position_bias=True,
        use_mean_pooling=False,
        drop_path_rate=0.0,
        **_common(),
    )
    return BeitModel(cfg, add_pooling_layer=True)


def _hf_data2vec() -> nn.Module:
    from transformers import Data2VecVisionConfig, Data2VecVisionModel

    cfg = Data2VecVisionConfig(
        use_relative_position_bias=True,
        use_shared_relative_position_bias=True,
        use_mean_pooling=True,
        drop_path_rate=0.0,
        **_common(),
    )
    return Data2VecVisionModel(cfg, add_pooling_layer=True)


def _hf_pooled(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(pixel_values=x)
    return out.last_hidden_state, out.pooler_output


def _hf_cls(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # ViTModel's pooler_output is tanh(dense(CLS)); its image classifier reads the CLS token itself
    out = model(pixel_values=x)
    return out.last_hidden_state, out.last_hidden_state[:, 0]


def _hf_ast_reference(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(input_values=x[:, 0])  # the family's own (B, T, M) layout
    return out.last_hidden_state, out.pooler_output


def mae_noise(x: torch.Tensor) -> torch.Tensor:
    n = (x.shape[-2] // PATCH) * (x.shape[-1] // PATCH)
    return torch.arange(n, dtype=torch.float32).expand(x.shape[0], -1)


def _hf_mae_reference(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(pixel_values=x, noise=mae_noise(x))
    return out.last_hidden_state, out.last_hidden_state[:, 0]


def _eva_mean(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    return model.fc_norm(tokens[:, model.num_prefix_tokens :].mean(1))


def _beit_mean(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    return model.pooler.layernorm(tokens[:, 1:].mean(1))


IMAGE = (BATCH, 3, IMG, IMG)
_AST_GRID = ((AST_MELS - AST_PATCH) // AST_STRIDE + 1, (AST_FRAMES - AST_PATCH) // AST_STRIDE + 1)

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("timm-vit", _seeded(_timm_vit), IMAGE, _timm_reference, slots=("pos_embed",)),
        Family("timm-eva", _seeded(_timm_eva), IMAGE, _timm_reference, manual_mean=_eva_mean, slots=("pos_embed",)),
        Family("timm-eva-mixed", _seeded(_timm_eva_mixed), IMAGE, _timm_reference, prefix=2, slots=("pos_embed",)),
        Family("hf-vit", _seeded(_hf_vit), IMAGE, _hf_cls, slots=("position_embeddings",)),
        Family(
            "hf-ast",
            _seeded(_hf_ast),
            (BATCH, 1, AST_FRAMES, AST_MELS),
            _hf_ast_reference,
            prefix=2,
            grid=_AST_GRID,
            slots=("position_embeddings",),
        ),
        Family("hf-dinov2", _seeded(_hf_dinov2), IMAGE, _hf_pooled, slots=("position_embeddings",)),
        Family("hf-clip-vision", _seeded(_hf_clip), IMAGE, _hf_pooled, slots=("position_embedding",)),
        Family("hf-vit-mae", _seeded(_hf_mae), IMAGE, _hf_mae_reference),
        Family("hf-beit", _seeded(_hf_beit), IMAGE, _hf_pooled, manual_mean=_beit_mean, slots=("position_embeddings",)),
        Family("hf-beit-shared", _seeded(_hf_beit_shared), IMAGE, _hf_pooled),
        Family("hf-data2vec-vision", _seeded(_hf_data2vec), IMAGE, _hf_pooled, manual_mean=_beit_mean),
    ]
}


def make_input(family: Family, seed: int = 1) -> torch.Tensor:
    return torch.randn(family.input_shape, generator=torch.Generator().manual_seed(seed))


def staged(anatomy, x: torch.Tensor) -> torch.Tensor:
    """The runner's path: embed -> every block -> final norm (prompts, if any, still in the sequence)."""
    h, ctx = anatomy.embed(x)
    for i in range(anatomy.depth):
        h = anatomy.block(i, h, ctx)
    return anatomy.final_norm(h)
