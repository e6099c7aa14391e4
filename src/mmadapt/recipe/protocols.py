"""What the recipe needs of a model, and the batches it feeds one.

The Trainer, ``evaluate`` and the k-fold driver are typed on :class:`StreamModel`, not on
:class:`mmadapt.MultimodalAdapterModel`: any ``nn.Module`` that names its streams, says which run per frame,
takes them by keyword and checkpoints its adapters can be trained. Batches are mappings
``{stream: tensor, ..., LABEL_KEY: labels}`` (see :mod:`mmadapt.data.batch`).

Optional, used when present: ``set_grad_checkpointing(bool)``, ``cast_backbones(dtype)``, ``compile_fusion()``,
``save_adapter(directory)``; the config flags that need them say so when they are missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from ..data.batch import LABEL_KEY, Batch

__all__ = ["LABEL_KEY", "Batch", "StreamLayout", "StreamModel", "check_model", "stream_layout"]


class StreamLayout(Protocol):
    """What the recipe reads of one stream (``mmadapt.StreamInfo`` has it)."""

    @property
    def per_frame(self) -> bool:
        """Batches hold ``(B, T, C, H, W)`` clips rather than ``(B, C, H, W)`` images."""
        ...


@runtime_checkable
class StreamModel(Protocol):
    """A model the recipe can train: ``model(**{stream: tensor}) -> logits (B, K)``."""

    @property
    def stream_names(self) -> Sequence[str]:
        """The streams every batch must carry, in the model's order."""
        ...

    @property
    def streams(self) -> Mapping[str, StreamLayout]:
        """Per stream, whether it runs per frame: tells a view axis from the batch axis."""
        ...

    def __call__(self, **streams: torch.Tensor) -> torch.Tensor: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...

    def train(self, mode: bool = True) -> Any: ...

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """The trained (adapter) weights only: what a training checkpoint holds."""
        ...

    def load_adapter_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None: ...


_REQUIRED_METHODS = ("adapter_state_dict", "load_adapter_state_dict")


def check_model(model: object) -> None:
    """Raise a one-line ``TypeError`` naming the first thing ``model`` lacks to be trained as a :class:`StreamModel`."""
    name = type(model).__name__
    for method in _REQUIRED_METHODS:
        if not callable(getattr(model, method, None)):
            raise TypeError(f"model {name} lacks {method}(); the recipe checkpoints adapters only")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model {name} is not a torch.nn.Module; the recipe moves, wraps and saves modules")
    stream_layout(model)  # type: ignore[arg-type]


def stream_layout(model: StreamModel) -> dict[str, bool]:
    """``{stream: per_frame}`` in the model's stream order: what batches are checked against."""
    name = type(model).__name__
    for attribute in ("stream_names", "streams"):
        if getattr(model, attribute, None) is None:
            raise TypeError(f"model {name} lacks .{attribute}; the recipe feeds batches by stream name")
    missing = [s for s in model.stream_names if s not in model.streams]
    if missing:
        raise TypeError(f"model {name}: .streams has no entry for the streams {missing} of .stream_names")
    return {s: bool(model.streams[s].per_frame) for s in model.stream_names}
