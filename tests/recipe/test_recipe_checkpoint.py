"""Checkpoint files (weights_only, atomic, newest/prune) and RNG capture/restore."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from mmadapt._io import atomic_write
from mmadapt.recipe.checkpoint import (
    TrainingCheckpoint,
    find_latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    resolve_resume,
    save_checkpoint,
)
from mmadapt.recipe.rng import capture_rng_state, restore_rng_state


def _draws(generator: torch.Generator) -> tuple:
    return (
        random.random(),
        float(np.random.rand()),
        float(np.random.randn()),
        torch.rand(3).tolist(),
        torch.randint(0, 100, (3,), generator=generator).tolist(),
    )


def _ckpt(epoch: int, generator: torch.Generator) -> TrainingCheckpoint:
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    sched.step()
    return TrainingCheckpoint(
        adapter={k: v.detach() for k, v in model.state_dict().items()},
        optimizer=opt.state_dict(),
        scheduler=sched.state_dict(),
        epoch=epoch,
        global_step=7 * epoch,
        rng=[capture_rng_state(generator)],
        callbacks={"MetricsLogger": {"offset": 12}},
        history=[{"epoch": 1, "val_uar": 0.5}],
        config={"lr": 1e-4},
    )


def test_rng_state_round_trip_reproduces_every_stream():
    g = torch.Generator().manual_seed(3)
    np.random.randn()  # leave a cached gaussian behind
    state = capture_rng_state(g)
    first = _draws(g)
    restore_rng_state(state, g)
    assert _draws(g) == first


def test_save_load_round_trip_with_weights_only(tmp_path):
    g = torch.Generator().manual_seed(0)
    ckpt = _ckpt(3, g)
    path = save_checkpoint(ckpt, tmp_path)
    assert path.name == "epoch_0003.pt"
    torch.load(path, weights_only=True)  # nothing pickled beyond tensors and primitives
    back = load_checkpoint(path)
    assert (back.epoch, back.global_step, back.callbacks, back.history) == (3, 21, ckpt.callbacks, ckpt.history)
    assert all(torch.equal(back.adapter[k], v) for k, v in ckpt.adapter.items())
    assert back.scheduler == ckpt.scheduler
    restore_rng_state(ckpt.rng[0], g)
    expected = _draws(g)
    restore_rng_state(back.rng[0], g)  # the state that went through the file
    assert _draws(g) == expected


def test_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        resolve_resume(str(tmp_path / "nope.pt"), tmp_path)


def test_latest_prune_and_auto_resume(tmp_path):
    g = torch.Generator()
    assert resolve_resume("auto", tmp_path) is None and resolve_resume(None, tmp_path) is None
    for epoch in (1, 2, 10):
        save_checkpoint(_ckpt(epoch, g), tmp_path)
    assert find_latest_checkpoint(tmp_path).name == "epoch_0010.pt"
    assert resolve_resume("auto", tmp_path).name == "epoch_0010.pt"
    deleted = prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in deleted] == ["epoch_0001.pt"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_0002.pt", "epoch_0010.pt"]


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def broken(handle):
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
