"""`evaluate`: UAR / WAR / loss of a model on a dataset, usable on its own or from the training loop.

Shape legend: B batch (clips), V views per clip, T frames, C channels, H x W image size, K classes.

Dataset items are ``{stream: tensor, ..., "label": int}`` (:mod:`mmadapt.data.batch`), one entry per stream of
the model: ``(T, C, H, W)`` for a per-frame stream, ``(C, H, W)`` for a per-clip one. For the paper's 2-clip test
averaging a stream may instead carry several views of the clip, ``(V, T, C, H, W)`` / ``(V, C, H, W)``; a stream
without a view axis is shared by the views. The views' **logits** are averaged and the mean is scored. Batch size
1 by default, like the official evaluate.py. The caller owns the device: the model stays where it is and batches
are moved to its device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..errors import InputShapeError
from .distributed import DistInfo, ShardSampler, gather_uneven, get_dist_info
from .losses import get_loss
from .metrics import ClassificationMetrics, compute_metrics
from .protocols import LABEL_KEY, Batch, StreamModel, stream_layout

__all__ = [
    "autocast_context",
    "count_views",
    "evaluate",
    "forward_views",
    "split_batch",
    "split_streams",
    "unwrap_model",
]

_LAYOUT = {True: ("(B, T, C, H, W)", 5), False: ("(B, C, H, W)", 4)}
"""A stream's batch layout and rank by whether it runs per frame; a view axis V may follow B (rank + 1)."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """The user's module under DDP / torch.compile wrappers (for state dicts and eval)."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # torch.compile's OptimizedModule
            model = model._orig_mod
        else:
            return model


def autocast_context(device: torch.device, amp: str) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast: 'auto' on CUDA only, 'bf16' on any device, 'off' never."""
    if amp not in ("auto", "bf16", "off"):
        raise ValueError(f"amp must be 'auto', 'bf16' or 'off', got {amp!r}")
    enabled = amp == "bf16" or (amp == "auto" and device.type == "cuda")
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def split_streams(batch: Batch, device: torch.device, layout: Mapping[str, bool]) -> dict[str, torch.Tensor]:
    """Check a batch's streams against ``layout`` (``{stream: per_frame}``, the model's order) and move them to
    ``device``; keys other than the streams and ``LABEL_KEY`` are errors, as are missing streams."""
    if not isinstance(batch, Mapping):
        raise InputShapeError(
            f"expected a batch {{stream: tensor, ..., {LABEL_KEY!r}: labels}} keyed by the model's streams "
            f"{list(layout)}, got a {type(batch).__name__}"
        )
    missing = [s for s in layout if s not in batch]
    unknown = [k for k in batch if k not in layout and k != LABEL_KEY]
    if missing or unknown:
        problems = "; ".join(p for p in (missing and f"missing {missing}", unknown and f"unknown {unknown}") if p)
        has = [k for k in batch if k != LABEL_KEY]
        raise InputShapeError(f"the model's streams are {list(layout)}, the batch has {has}: {problems}")
    non_blocking = device.type == "cuda"
    inputs: dict[str, torch.Tensor] = {}
    for s, per_frame in layout.items():
        x = batch[s]
        shape, rank = _LAYOUT[per_frame]
        if not (isinstance(x, torch.Tensor) and x.ndim in (rank, rank + 1)):
            views = shape.replace("(B, ", "(B, V, ")
            raise InputShapeError(f"{s} batch must be {shape} or {views}, got {_shape(x)}")
        if not x.is_floating_point():
            raise TypeError(f"{s} batch must be floating point, got {x.dtype}")
        inputs[s] = x.to(device, non_blocking=non_blocking)
    clips = {s: x.shape[0] for s, x in inputs.items()}
    if len(set(clips.values())) > 1:
        raise InputShapeError(f"the streams disagree on the batch size: {clips}")
    return inputs


def split_batch(
    batch: Batch, device: torch.device, layout: Mapping[str, bool]
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Check and move a collated ``{stream: tensor, ..., "label": labels}`` batch: ``(inputs by stream, labels
    (B,))``; errors name the bad part."""
    if isinstance(batch, Mapping) and LABEL_KEY not in batch:  # before the streams: a renamed label is not a stream
        raise InputShapeError(f"the batch has no {LABEL_KEY!r} entry (keys: {list(batch)})")
    inputs = split_streams(batch, device, layout)
    label = torch.as_tensor(batch[LABEL_KEY])
    b = next(iter(inputs.values())).shape[0]
    if label.ndim != 1 or label.shape[0] != b or label.is_floating_point():
        raise InputShapeError(f"labels must be (B,) integers matching B={b}, got {_shape(label)} {label.dtype}")
    return inputs, label.to(device, non_blocking=device.type == "cuda").long()


def count_views(inputs: Mapping[str, torch.Tensor], layout: Mapping[str, bool]) -> dict[str, int]:
    """``{stream: V}`` for the streams that carry a view axis (none: a single-view batch)."""
    return {s: x.shape[1] for s, x in inputs.items() if x.ndim == _LAYOUT[layout[s]][1] + 1}


def forward_views(model: nn.Module | StreamModel, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Logits (B, K) of ``model(**inputs)``; when streams carry V views of each clip the views' logits are
    averaged (a stream without a view axis is shared by every view)."""
    layout = stream_layout(unwrap_model(model))  # type: ignore[arg-type]
    views = count_views(inputs, layout)
    if not views:
        return model(**inputs)  # (B, K)
    if len(set(views.values())) > 1:
        raise ValueError(f"the streams disagree on the number of views per clip: {views}")
    v = next(iter(views.values()))
    b = next(iter(inputs.values())).shape[0]
    flat = {
        # (B*V, ...), view-major within each clip; a shared stream is repeated once per view
        s: x.flatten(0, 1) if s in views else x.repeat_interleave(v, dim=0)
        for s, x in inputs.items()
    }
    logits = model(**flat)  # (B*V, K)
    return logits.view(b, v, -1).mean(dim=1)  # (B, K)


@torch.no_grad()
def evaluate(
    model: StreamModel,
    dataset: Dataset[Any],
    *,
    batch_size: int = 1,
    num_workers: int = 0,
    amp: str = "off",
    loss: str = "cross_entropy",
    info: DistInfo | None = None,
    progress: bool = False,
) -> ClassificationMetrics:
    """Score `model` on `dataset`. Under DDP each rank takes a shard and the predictions are gathered,
    every clip counted once; every rank returns the same metrics. The model's train/eval mode is restored."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    info = info or get_dist_info()
    net = unwrap_model(model)  # type: ignore[arg-type]
    layout = stream_layout(net)  # type: ignore[arg-type]
    try:
        device = next(net.parameters()).device
    except StopIteration:
        raise ValueError("model has no parameters: cannot tell its device") from None
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ShardSampler(len(dataset), info),  # type: ignore[arg-type]
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        drop_last=False,
        generator=torch.Generator().manual_seed(0),  # private: evaluating must not move the global RNG
    )
    loss_fn = get_loss(loss)
    logits_all: list[torch.Tensor] = []
    targets_all: list[torch.Tensor] = []
    losses_all: list[torch.Tensor] = []
    was_training = net.training
    net.eval()
    try:
        for batch in _maybe_progress(loader, progress and info.is_main, "eval"):
            inputs, target = split_batch(batch, device, layout)
            with autocast_context(device, amp):
                logits = forward_views(net, inputs)
            logits = logits.float()
            logits_all.append(logits)
            targets_all.append(target)
            losses_all.append(loss_fn(logits, target).double())
    finally:
        net.train(was_training)
    num_classes = _num_classes(logits_all, info, device)
    logits = gather_uneven(_cat(logits_all, (0, num_classes), torch.float32, device), info)
    targets = gather_uneven(_cat(targets_all, (0,), torch.long, device), info)
    losses = gather_uneven(_cat(losses_all, (0,), torch.float64, device), info)
    if targets.numel() != len(dataset):  # pragma: no cover - guards the sharding arithmetic
        raise RuntimeError(f"evaluated {targets.numel()} clips, dataset has {len(dataset)}")
    return compute_metrics(logits.cpu(), targets.cpu(), loss_sum=float(losses.sum()))


def _num_classes(logits: list[torch.Tensor], info: DistInfo, device: torch.device) -> int:
    # A rank with an empty shard still needs K for the gather; ranks that saw data agree on it.
    local = logits[0].shape[1] if logits else 0
    if info.enabled:
        k = torch.tensor([local], device=device)
        torch.distributed.all_reduce(k, op=torch.distributed.ReduceOp.MAX)
        local = int(k.item())
    if local == 0:
        raise ValueError("cannot evaluate an empty dataset")
    return local


def _cat(
    parts: list[torch.Tensor], empty_shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    return torch.cat(parts) if parts else torch.zeros(empty_shape, dtype=dtype, device=device)


def _maybe_progress(loader: DataLoader[Any], enabled: bool, desc: str) -> Any:
    from .callbacks.progress import progress_enabled

    if not progress_enabled(enabled):
        return loader
    from tqdm.auto import tqdm

    return tqdm(loader, desc=desc, unit="batch", leave=False)


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__
