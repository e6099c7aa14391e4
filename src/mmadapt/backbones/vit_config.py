"""Typed description of a plain timm ViT backbone, and its construction.

Width, depth and heads have no default: a generic builder assumes no size. The MMA-DFER wing's builders pass
ViT-B/16 (``methods/mma_dfer/vit_b16.py``); tests shrink it through their keyword overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from torch import nn

from ..config_base import ConfigBase
from ..errors import ConfigError

if TYPE_CHECKING:
    from timm.models.vision_transformer import VisionTransformer

__all__ = ["ViTBackboneConfig", "build_vit"]


@dataclass
class ViTBackboneConfig(ConfigBase):
    """Architecture of a CLS-token ViT with non-overlapping square patches and pre-norm blocks."""

    img_size: tuple[int, int] = (224, 224)
    """Input height x width (for spectrograms: frames x mel bins)."""
    patch_size: int = 16
    """Side of the square, non-overlapping patches."""
    in_chans: int = 3
    """Input channels (3 for RGB frames, 1 for spectrograms)."""
    embed_dim: int = field(kw_only=True)
    """Token width D."""
    depth: int = field(kw_only=True)
    """Number of transformer blocks."""
    num_heads: int = field(kw_only=True)
    """Attention heads per block; must divide ``embed_dim``."""
    mlp_ratio: float = 4.0
    """MLP hidden width as a multiple of ``embed_dim``."""
    qkv_bias: bool = True
    """Bias on the fused query/key/value projection."""
    norm_eps: float = 1e-6
    """Epsilon of every LayerNorm in the backbone."""
    drop_path_rate: float = 0.1
    """Stochastic depth rate of the last block (linear ramp from 0 at the first)."""
    num_classes: int = 0
    """Classification head outputs; 0 means no head (features only)."""

    def __post_init__(self) -> None:
        if isinstance(self.img_size, list):
            self.img_size = tuple(self.img_size)  # type: ignore[assignment]
        super().__post_init__()  # type checks by annotation
        if len(self.img_size) != 2 or min(self.img_size) <= 0:
            raise ConfigError(f"img_size must be two positive integers, got {self.img_size}")
        if self.patch_size <= 0 or any(s % self.patch_size for s in self.img_size):
            raise ConfigError(f"img_size {self.img_size} is not a multiple of patch_size {self.patch_size}")
        for name in ("in_chans", "embed_dim", "depth", "num_heads"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.embed_dim % self.num_heads:
            raise ConfigError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if self.mlp_ratio <= 0:
            raise ConfigError(f"mlp_ratio must be positive, got {self.mlp_ratio}")
        if not 0.0 <= self.drop_path_rate < 1.0:
            raise ConfigError(f"drop_path_rate must be in [0, 1), got {self.drop_path_rate}")
        if self.num_classes < 0:
            raise ConfigError(f"num_classes must be >= 0, got {self.num_classes}")
        if self.norm_eps <= 0:
            raise ConfigError(f"norm_eps must be positive, got {self.norm_eps}")

    @property
    def grid_size(self) -> tuple[int, int]:
        """Patch grid (rows, cols)."""
        return self.img_size[0] // self.patch_size, self.img_size[1] // self.patch_size


def build_vit(cfg: ViTBackboneConfig) -> VisionTransformer:
    """A randomly initialised timm ViT; the final ``norm`` is applied to all tokens and CLS is pooled."""
    from timm.models.vision_transformer import VisionTransformer  # here: timm costs seconds at import

    return VisionTransformer(
        img_size=cfg.img_size,
        patch_size=cfg.patch_size,
        in_chans=cfg.in_chans,
        num_classes=cfg.num_classes,
        global_pool="token",
        fc_norm=False,
        class_token=True,
        embed_dim=cfg.embed_dim,
        depth=cfg.depth,
        num_heads=cfg.num_heads,
        mlp_ratio=cfg.mlp_ratio,
        qkv_bias=cfg.qkv_bias,
        norm_layer=partial(nn.LayerNorm, eps=cfg.norm_eps),
        drop_path_rate=cfg.drop_path_rate,
    )
