"""What a sample and a batch are: one tensor per stream, keyed by the stream's name, plus the label.

A dataset item is ``{stream: tensor, ..., LABEL_KEY: int}``; torch's default collate turns a list of them into a
:data:`Batch` ``{stream: (B, ...), ..., LABEL_KEY: (B,)}``. Names, never positions: a model with a third encoder
reads a third key, and two streams of the same shape cannot be swapped silently.

Kept in ``data`` (which never imports ``recipe``) so that datasets and the training loop share one definition;
:mod:`mmadapt.recipe.protocols` re-exports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import torch

__all__ = ["LABEL_KEY", "Batch", "Sample"]

LABEL_KEY = "label"
"""The key of the class label in a sample / batch; no stream may take this name (``mmadapt.streams.RESERVED``)."""

Sample: TypeAlias = dict[str, torch.Tensor | int]
"""One dataset item: ``{stream: tensor, ..., LABEL_KEY: int}``."""

Batch: TypeAlias = Mapping[str, torch.Tensor]
"""A collated batch: ``{stream: (B, ...), ..., LABEL_KEY: (B,)}``."""
