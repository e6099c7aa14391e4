"""Data-parallel training under `torchrun` (DDP; DataParallel is never used).

* Process group from the environment `torchrun` sets (env://): gloo on CPU, nccl on CUDA.
* Training data: `DistributedSampler` (permutation from seed + epoch, `set_epoch` each epoch). With
  W processes and a per-process batch b, global batch k is the slice [k*W*b, (k+1)*W*b) of the epoch's
  permutation, exactly the batch a single process with batch W*b sees: runs with 1 and W processes
  see the same global batches.
* Evaluation data: `ShardSampler` (rank r takes items r, r+W, ...; no padding) and `gather_uneven`,
  so every clip is counted exactly once even when W does not divide the set size.
* Only rank 0 writes files (`DistInfo.is_main`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler, Sampler

__all__ = [
    "DistInfo",
    "ShardSampler",
    "all_gather_objects",
    "all_reduce_mean",
    "barrier",
    "gather_uneven",
    "get_dist_info",
    "init_distributed",
    "make_train_sampler",
    "wrap_ddp",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: global rank, world size, rank on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def get_dist_info() -> DistInfo:
    """From the initialised process group, or a single process if there is none."""
    if dist.is_available() and dist.is_initialized():
        local_rank = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank)
    return DistInfo()


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group `torchrun` describes (WORLD_SIZE > 1), if not joined yet.

    The backend follows the device: nccl for CUDA, gloo otherwise. Without torchrun's variables this
    is a no-op returning a single-process `DistInfo`. The caller destroys the group when done.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not dist.is_initialized():
        if not dist.is_available():  # pragma: no cover - torch builds without distributed
            raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://")
        logger.info("joined process group: backend=%s world_size=%d", backend, world_size)
    return get_dist_info()


def wrap_ddp(model: nn.Module, info: DistInfo, device: torch.device, find_unused_parameters: bool) -> nn.Module:
    """DDP over the trainable parameters only (frozen ones have requires_grad=False and are skipped
    by DDP's reducer); identity for a single process."""
    if not info.enabled:
        return model
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters (requires_grad=True): nothing to train")
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        model, device_ids=device_ids, find_unused_parameters=find_unused_parameters
    )


def make_train_sampler(dataset: Dataset[Any], info: DistInfo, seed: int, shuffle: bool) -> DistributedSampler[Any]:
    """Epoch-seeded sampler for every world size (also 1), so data order depends on (seed, epoch) only:
    nothing to checkpoint and the same global batches for any number of processes."""
    return DistributedSampler(dataset, num_replicas=info.world_size, rank=info.rank, shuffle=shuffle, seed=seed)


class ShardSampler(Sampler[int]):
    """Evaluation shard of rank r: indices r, r+W, r+2W, ... (uneven shards, nothing padded)."""

    def __init__(self, length: int, info: DistInfo) -> None:
        self.length, self.info = length, info

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.info.rank, self.length, self.info.world_size))

    def __len__(self) -> int:
        return len(range(self.info.rank, self.length, self.info.world_size))


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_reduce_mean(value: float, info: DistInfo, device: torch.device) -> float:
    """Mean of a scalar over processes (for logging)."""
    if not info.enabled:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / info.world_size


def all_gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """One picklable object per rank, in rank order (e.g. per-rank RNG states for checkpoints)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def gather_uneven(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Concatenate every rank's (n_r, ...) tensor along dim 0 in rank order; n_r may differ.

    all_gather needs equal shapes, so each rank pads to max n_r and the padding is cut off after.
    """
    if not info.enabled:
        return tensor
    count = torch.tensor([tensor.shape[0]], dtype=torch.long, device=tensor.device)
    counts = [torch.zeros_like(count) for _ in range(info.world_size)]
    dist.all_gather(counts, count)
    sizes = [int(c.item()) for c in counts]
    padded = tensor.new_zeros((max(sizes), *tensor.shape[1:]))
    padded[: tensor.shape[0]] = tensor
    parts = [torch.empty_like(padded) for _ in range(info.world_size)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=True)])
