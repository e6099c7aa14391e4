"""MAE-Face encoder: a ViT over RGB face frames, pre-trained with MAE at 224 px (14 x 14 grid)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

from ...backbones.load_report import BuiltBackbone
from ...backbones.pretrained_vit import build_pretrained_vit
from ...backbones.registry import register_backbone
from ...backbones.vit_config import ViTBackboneConfig
from ...pos_embed import infer_grid
from .vit_b16 import VIT_B16

__all__ = ["maeface_vit_base"]


@register_backbone("maeface_vit_base")
def maeface_vit_base(
    checkpoint: str | PathLike[str] | None = None,
    *,
    img_size: int = 160,
    drop_path_rate: float = 0.1,
    checkpoint_grid: Sequence[int] | None = None,
    ignore_keys: Sequence[str] = (),
    **overrides: Any,
) -> BuiltBackbone:
    """MAE-Face ViT-B/16 for (B, 3, img_size, img_size) input; returns ``(model, report)``.

    The checkpoint's square position grid is resampled to ``img_size / patch`` (identity at the
    pre-training size). Any head in the checkpoint is ignored; the model has none unless ``num_classes`` is
    passed, in which case the head is freshly initialised. ``overrides`` go to :class:`ViTBackboneConfig`.
    """
    cfg = ViTBackboneConfig(
        **{**VIT_B16, "img_size": (img_size, img_size), "in_chans": 3, "drop_path_rate": drop_path_rate, **overrides}
    )

    def grid_of(num_tokens: int) -> tuple[int, int]:
        if checkpoint_grid is not None:
            return tuple(checkpoint_grid)  # type: ignore[return-value]
        return infer_grid(num_tokens)

    return build_pretrained_vit(cfg, checkpoint, checkpoint_grid=grid_of, ignore_keys=ignore_keys)
