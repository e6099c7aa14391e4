"""`evaluate`: UAR / WAR / loss of a model on a dataset, usable on its own or from the training loop.

Shape legend: B batch (clips), V views per clip, T frames, C channels, S frame size,
F spectrogram time bins, M mel bins, K classes.

Dataset items are `(video (T, C, S, S), audio (1, F, M), label)`. For the paper's 2-clip test
averaging a dataset may instead yield several views of a clip, `video (V, T, C, S, S)` with audio
`(1, F, M)` (shared by the views) or `(V, 1, F, M)`: the views' **logits** are averaged and the mean
is scored. Batch size 1 by default, like the official evaluate.py. The caller owns the device: the
model stays where it is and batches are moved to its device.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from mmadapt.recipe.distributed import DistInfo, ShardSampler, gather_uneven, get_dist_info
from mmadapt.recipe.losses import get_loss
from mmadapt.recipe.metrics import ClassificationMetrics, compute_metrics

__all__ = ["autocast_context", "evaluate", "forward_views", "split_batch", "unwrap_model"]


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


def split_batch(batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check and move a collated `(video, audio, label)` batch; errors name the bad part."""
    if not isinstance(batch, (list, tuple)) or len(batch) != 3:
        raise ValueError(f"expected batches of (video, audio, label), got {type(batch).__name__} of {len(batch)}")
    video, audio, label = batch
    if not (isinstance(video, torch.Tensor) and video.ndim in (5, 6)):
        raise ValueError(f"video batch must be (B, T, C, S, S) or (B, V, T, C, S, S), got {_shape(video)}")
    if not (isinstance(audio, torch.Tensor) and audio.ndim in (4, 5)):
        raise ValueError(f"audio batch must be (B, 1, F, M) or (B, V, 1, F, M), got {_shape(audio)}")
    if not video.is_floating_point() or not audio.is_floating_point():
        raise TypeError(f"video/audio must be floating point, got {video.dtype} / {audio.dtype}")
    label = torch.as_tensor(label)
    if label.ndim != 1 or label.shape[0] != video.shape[0] or label.is_floating_point():
        raise ValueError(f"labels must be (B,) integers matching B={video.shape[0]}, got {_shape(label)} {label.dtype}")
    non_blocking = device.type == "cuda"
    return (
        video.to(device, non_blocking=non_blocking),
        audio.to(device, non_blocking=non_blocking),
        label.to(device, non_blocking=non_blocking).long(),
    )


def forward_views(model: nn.Module, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Logits (B, K); with several views (6-D video) the views' logits are averaged."""
    if video.ndim == 5:
        return model(video, audio)  # (B, K)
    b, v = video.shape[:2]
    if audio.ndim == 5:
        if audio.shape[1] != v:
            raise ValueError(f"video has {v} views but audio has {audio.shape[1]}")
        audio = audio.flatten(0, 1)  # (B*V, 1, F, M)
    else:
        audio = audio.repeat_interleave(v, dim=0)  # (B*V, 1, F, M), view-major within each clip
    logits = model(video.flatten(0, 1), audio)  # (B*V, K)
    return logits.view(b, v, -1).mean(dim=1)  # (B, K)


@torch.no_grad()
def evaluate(
    model: nn.Module,
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
    net = unwrap_model(model)
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
            video, audio, target = split_batch(batch, device)
            with autocast_context(device, amp):
                logits = forward_views(net, video, audio)
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
    from mmadapt.recipe.callbacks.progress import progress_enabled

    if not progress_enabled(enabled):
        return loader
    from tqdm.auto import tqdm

    return tqdm(loader, desc=desc, unit="batch", leave=False)


def _shape(value: Any) -> str:
    return str(tuple(value.shape)) if isinstance(value, torch.Tensor) else type(value).__name__
