"""Faults (issue 13 items 1, 10): a full disk (``OSError(ENOSPC)``) at each successive call of each file-system
step, during ``save_adapter`` over a good adapter and during a training checkpoint save over good checkpoints.
Afterwards the folder must load as the old or the new state (never lost), and the next clean save must leave no
leftovers. Real ``kill -9`` loops are in tests/core/test_save_atomic.py (adapters) and the recipe's resume tests.
"""

from __future__ import annotations

import copy
import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import torch

import mmadapt
import mmadapt._io as io_module
import mmadapt.checkpoint as adapter_checkpoint
from mmadapt._io import PENDING_NAME, STAGE_PREFIX
from mmadapt.recipe.checkpoint import checkpoint_dir, load_checkpoint, resolve_resume, save_checkpoint
from tests.core.backbones import timm_vit
from tests.core.helpers import randomise_gates, wrap
from tests.recipe.test_recipe_checkpoint import _ckpt

from ..case import Case, Catalogue
from ._tmp import fresh_dir

AREA = "faults"


class DiskFull(OSError):
    def __init__(self) -> None:
        super().__init__(errno.ENOSPC, "No space left on device (injected)")


Target = tuple[Any, str]
TARGETS: dict[str, Callable[[], Target]] = {
    "os.replace": lambda: (os, "replace"),
    "os.fsync": lambda: (os, "fsync"),
    "os.fdopen": lambda: (os, "fdopen"),
    "os.chmod": lambda: (os, "chmod"),
    "os.mkdir": lambda: (os, "mkdir"),
    "tempfile.mkstemp": lambda: (tempfile, "mkstemp"),
    "checkpoint.write_json": lambda: (adapter_checkpoint, "write_json"),
    "checkpoint.atomic_write": lambda: (adapter_checkpoint, "atomic_write"),
    "_io.fsync_dir": lambda: (io_module, "fsync_dir"),
    "torch.save": lambda: (torch, "save"),
}
"""The file-system steps a save goes through, each patched where the saving code looks it up."""


@contextmanager
def failing(target: str, at: int | None) -> Iterator[list[int]]:
    """Patch ``target`` so that its ``at``-th call (1-based) raises ENOSPC; ``at=None`` only counts the calls."""
    owner, name = TARGETS[target]()
    original = getattr(owner, name)
    calls = [0]

    def patched(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == at:
            raise DiskFull()
        return original(*args, **kwargs)

    with mock.patch.object(owner, name, patched):
        yield calls


# ---- adapters -----------------------------------------------------------------------------------------------
@cache
def _backbones() -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    return timm_vit(1, size=(64, 32), depth=2)[0], timm_vit(3, depth=2)[0]


def _pair() -> tuple[torch.nn.Module, torch.nn.Module]:
    return tuple(copy.deepcopy(b) for b in _backbones())  # type: ignore[return-value]


@cache
def _adapter(latent: int, seed: int) -> mmadapt.MultimodalAdapterModel:
    torch.manual_seed(seed)
    m = wrap(*_pair(), fusion={"latent_dim": latent})
    randomise_gates(m, seed)
    return m


OLD, NEW = (8, 1), (16, 2)
"""(latent_dim, seed) of the adapter on disk and of the one saved over it (as in issue 13's reproducer)."""


def _state(model: mmadapt.MultimodalAdapterModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.adapter_state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _leftovers(folder: Path) -> list[str]:
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.startswith(STAGE_PREFIX) or p.name == PENDING_NAME or p.name.endswith(".tmp")
    )


def _loads_as(folder: Path) -> str | None:
    """'old', 'new', or None when the folder does not load as either."""
    try:
        loaded = mmadapt.MultimodalAdapterModel.from_pretrained(folder, *_pair())
    except mmadapt.MMAdaptError:
        return None
    state = loaded.adapter_state_dict()
    for name, spec in (("old", OLD), ("new", NEW)):
        if _same(state, _state(_adapter(*spec))):
            return name
    return None


def _adapter_save(target: str, at: int, first_save: bool) -> Callable[[], Any]:
    def run() -> Path:
        folder = fresh_dir() / "adapter"
        if not first_save:
            _adapter(*OLD).save_adapter(folder)
        with failing(target, at):
            try:
                _adapter(*NEW).save_adapter(folder)
            except DiskFull:
                pass
        return folder

    return run


def _adapter_check(first_save: bool) -> Callable[[Path], str | None]:
    def check(folder: Path) -> str | None:
        now = _loads_as(folder)
        if now is None and not first_save:
            return f"after the fault the folder loads as neither adapter ({sorted(os.listdir(folder))})"
        _adapter(*NEW).save_adapter(folder)  # the next save must succeed and clean up
        if _loads_as(folder) != "new":
            return "the save after the fault does not load as the new adapter"
        left = _leftovers(folder)
        return f"leftovers after the next save: {left}" if left else None

    return check


# ---- training checkpoints -----------------------------------------------------------------------------------
def _ckpt_save(target: str, at: int, overwrite: bool) -> Callable[[], Any]:
    def run() -> Path:
        out = fresh_dir()
        save_checkpoint(_ckpt(1, torch.Generator().manual_seed(1)), out)
        newer = _ckpt(1 if overwrite else 2, torch.Generator().manual_seed(9))
        newer.global_step = 99
        with failing(target, at):
            try:
                save_checkpoint(newer, out)
            except DiskFull:
                pass
        return out

    return run


def _ckpt_check(out: Path) -> str | None:
    try:
        first = load_checkpoint(checkpoint_dir(out) / "epoch_0001.pt")
    except Exception as err:
        return f"epoch_0001.pt no longer loads: {type(err).__name__}: {err}"
    if first.global_step not in (7, 99):
        return f"epoch_0001.pt holds global_step {first.global_step}, neither the old nor the new one"
    try:
        resumed = resolve_resume("auto", out)
        load_checkpoint(resumed)
    except Exception as err:
        return f"resume='auto' fails after the fault: {type(err).__name__}: {err}"
    left = [p.name for p in checkpoint_dir(out).iterdir() if p.name.endswith(".tmp")]
    return f"temporary files left: {left}" if left else None


# ---- counting -----------------------------------------------------------------------------------------------
def _count(target: str, save: Callable[[], Any]) -> int:
    with failing(target, None) as calls:
        save()
    return calls[0]


def _count_adapter_save(target: str) -> int:
    folder = fresh_dir() / "adapter"
    _adapter(*OLD).save_adapter(folder)
    return _count(target, lambda: _adapter(*NEW).save_adapter(folder))


def _count_ckpt_save(target: str) -> int:
    out = fresh_dir()
    save_checkpoint(_ckpt(1, torch.Generator().manual_seed(1)), out)
    return _count(target, lambda: save_checkpoint(_ckpt(2, torch.Generator().manual_seed(2)), out))


def cases() -> list[Case]:
    cat = Catalogue(AREA)
    intact = {"expect": ("intact",), "lost_on_fail": True}
    for target in TARGETS:
        for at in range(1, _count_adapter_save(target) + 1):
            for first in (False, True):
                where = "first-save" if first else "over-good-adapter"
                cat.add(
                    f"save_adapter/{where}/{target}#{at}",
                    1,
                    _adapter_save(target, at, first),
                    check=_adapter_check(first),
                    **intact,
                )
        for at in range(1, _count_ckpt_save(target) + 1):
            for overwrite in (False, True):
                where = "same-epoch" if overwrite else "next-epoch"
                cat.add(
                    f"save_checkpoint/{where}/{target}#{at}",
                    10,
                    _ckpt_save(target, at, overwrite),
                    check=_ckpt_check,
                    **intact,
                )
    return cat.cases
