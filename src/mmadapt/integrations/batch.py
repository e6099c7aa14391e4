"""A dict batch -> the model's inputs, its labels and the loss: the forward step every training loop shares.

A batch is ``{stream: (B, ...), ..., label_key: (B,)}`` (:mod:`mmadapt.data.batch`): torch's default collate
keeps the datasets' ``"label"``, ``transformers``' ``default_data_collator`` renames it ``"labels"``. Everything
but the label goes to the model by stream name, so a stray key is the model's one-line error naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from ..data.batch import LABEL_KEY
from ..errors import InputShapeError

__all__ = ["LossFn", "batch_loss", "split_batch"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(logits (B, C), labels (B,)) -> scalar loss``."""


def split_batch(batch: Mapping[str, Any], label_key: str = LABEL_KEY) -> tuple[dict[str, Any], torch.Tensor]:
    """``(inputs by stream, labels)`` of a batch; a batch without ``label_key`` raises naming the keys it has."""
    if label_key not in batch:
        raise InputShapeError(f"the batch has no labels under {label_key!r}; its keys are {sorted(batch)}")
    inputs = {k: v for k, v in batch.items() if k != label_key}
    return inputs, batch[label_key]


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in fp32 (half-precision logits would lose the small differences late in training)."""
    return F.cross_entropy(logits.float(), labels)


def batch_loss(
    model: Callable[..., torch.Tensor],
    batch: Mapping[str, Any],
    *,
    label_key: str = LABEL_KEY,
    loss_fn: LossFn = cross_entropy,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, logits (B, C))`` of ``model`` on ``batch``. ``model`` may be wrapped (DDP, ``accelerate``): it is
    called with the streams as keywords."""
    inputs, labels = split_batch(batch, label_key)
    logits = model(**inputs)
    return loss_fn(logits, labels), logits
