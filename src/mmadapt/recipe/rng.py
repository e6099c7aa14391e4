"""Seeding and RNG-state capture, so a resumed run draws the same random numbers as an unbroken one.

States are stored as tensors and plain lists/tuples of ints so a checkpoint loads with
`torch.load(weights_only=True)`: python's Mersenne Twister state is a tuple of ints already, numpy's
key array becomes an int64 tensor, torch states are uint8 tensors.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "seed_everything", "seed_worker"]


def seed_everything(seed: int) -> None:
    """Seed python, numpy, torch (CPU and every CUDA device). Called by `train` only, never at import."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds all CUDA devices


def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: torch seeds each worker (and `random`); give numpy the same seed."""
    del worker_id  # the per-worker torch seed already differs by worker id
    np.random.seed(torch.initial_seed() % 2**32)


def capture_rng_state(loader_generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every RNG the loop touches: python, numpy, torch CPU, CUDA (if initialised), the loader's."""
    np_state = np.random.get_state(legacy=False)
    if np_state["bit_generator"] != "MT19937":  # pragma: no cover - numpy's global RNG is MT19937
        raise RuntimeError(f"unsupported numpy global bit generator {np_state['bit_generator']!r}")
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
    }
    if loader_generator is not None:
        state["loader"] = loader_generator.get_state()
    return state


def restore_rng_state(state: dict[str, Any], loader_generator: torch.Generator | None = None) -> None:
    """Inverse of `capture_rng_state`."""
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": numpy_state["key"].numpy().astype(np.uint32), "pos": numpy_state["pos"]},
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        if len(state["cuda"]) != torch.cuda.device_count():
            raise RuntimeError(
                f"checkpoint holds RNG states for {len(state['cuda'])} CUDA devices, "
                f"this process sees {torch.cuda.device_count()}"
            )
        torch.cuda.set_rng_state_all(state["cuda"])
    if loader_generator is not None and "loader" in state:
        loader_generator.set_state(state["loader"])
