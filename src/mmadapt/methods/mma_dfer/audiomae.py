"""AudioMAE encoder: a ViT over log-mel spectrograms (1 channel, frames x mel bins, time-major patches)."""

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

__all__ = ["audiomae_vit_base"]


@register_backbone("audiomae_vit_base")
def audiomae_vit_base(
    checkpoint: str | PathLike[str] | None = None,
    *,
    frames: int = 512,
    mel_bins: int = 128,
    drop_path_rate: float = 0.1,
    checkpoint_grid: Sequence[int] | None = None,
    ignore_keys: Sequence[str] = (),
    **overrides: Any,
) -> BuiltBackbone:
    """AudioMAE ViT-B/16 for (B, 1, frames, mel_bins) input; returns ``(model, report)``.

    The checkpoint's position grid (AudioMAE pre-trains on 1024 frames: 64 x 8) is resampled along time to
    ``frames / patch``; its number of frequency rows is assumed equal to the model's unless
    ``checkpoint_grid`` (time rows, freq cols) is given. Decoder keys, the mask token and any head are
    ignored and reported. ``overrides`` go to :class:`ViTBackboneConfig` (e.g. a tiny ``embed_dim``).
    """
    cfg = ViTBackboneConfig(
        **{**VIT_B16, "img_size": (frames, mel_bins), "in_chans": 1, "drop_path_rate": drop_path_rate, **overrides}
    )
    freq_rows = cfg.grid_size[1]

    def grid_of(num_tokens: int) -> tuple[int, int]:
        if checkpoint_grid is not None:
            return tuple(checkpoint_grid)  # type: ignore[return-value]
        return infer_grid(num_tokens, cols=freq_rows)

    return build_pretrained_vit(cfg, checkpoint, checkpoint_grid=grid_of, ignore_keys=ignore_keys)
