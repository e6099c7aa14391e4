"""Shared path of the named ViT builders: build from a config, then load a pre-training checkpoint.

Pre-training checkpoints (MAE-style) carry a decoder and a mask token that the encoder does not use, and
were trained on another input size, so their position grid is resampled to the model's.

Shape legend: D width, G grid tokens, X prefix tokens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from os import PathLike

import torch

from ..pos_embed import resample_grid_pos_embed
from .checkpoint_file import read_state_dict
from .load_report import BuiltBackbone, CheckpointError, LoadReport
from .state_loading import load_state_into
from .vit_config import ViTBackboneConfig, build_vit

__all__ = ["PRETRAINING_ONLY_KEYS", "build_pretrained_vit"]

logger = logging.getLogger(__name__)

PRETRAINING_ONLY_KEYS = ("decoder_*", "mask_token", "head.*", "fc_norm.*")
"""Checkpoint keys of MAE-style pre-training (and any old head) that a feature backbone drops."""
HEAD_KEYS = ("head.*",)
"""Model keys that are always freshly initialised: a head is never taken from a pre-training checkpoint."""

GridGuess = Callable[[int], tuple[int, int]]
"""Maps the checkpoint's number of grid tokens to its (rows, cols) grid."""


def build_pretrained_vit(
    cfg: ViTBackboneConfig,
    checkpoint: str | PathLike[str] | None,
    *,
    checkpoint_grid: GridGuess,
    ignore_keys: Sequence[str] = (),
) -> BuiltBackbone:
    """Build ``cfg``'s ViT and, if ``checkpoint`` is given, load it strictly with pos-embed resampling."""
    model = build_vit(cfg)
    if checkpoint is None:
        return BuiltBackbone(model, LoadReport(initialised=tuple(model.state_dict())))
    prefix = model.num_prefix_tokens

    def fit_pos_embed(value: torch.Tensor, want: torch.Size) -> torch.Tensor:
        if value.ndim != 3 or value.shape[-1] != want[-1] or value.shape[1] <= prefix:
            raise CheckpointError(f"{checkpoint}: pos_embed {tuple(value.shape)} cannot be resampled to {tuple(want)}")
        try:
            old_grid = checkpoint_grid(value.shape[1] - prefix)  # G -> (rows, cols)
        except ValueError as err:
            raise CheckpointError(f"{checkpoint}: pos_embed {tuple(value.shape)}: {err}") from err
        logger.info("resampling pos_embed grid %s -> %s", old_grid, cfg.grid_size)
        return resample_grid_pos_embed(value, old_grid, cfg.grid_size, num_prefix_tokens=prefix)

    state_dict = read_state_dict(checkpoint)
    report = load_state_into(
        model,
        state_dict,
        source=str(checkpoint),
        ignore=(*PRETRAINING_ONLY_KEYS, *ignore_keys),
        keep_init=HEAD_KEYS,
        resamplers={"pos_embed": fit_pos_embed},
    )
    return BuiltBackbone(model, report)
