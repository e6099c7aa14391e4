"""A damaged training checkpoint is named, never a raw torch traceback; `resume='auto'` falls back.

Damage kinds seen in practice: a file left empty or cut short by a full disk or a killed copy, random
bytes, and a valid torch file that is not a training checkpoint. Each is a `CheckpointError` that names
the file and the damage in one line; `auto` skips such files (with a warning naming them) and continues
from the newest intact checkpoint, while an explicit path never falls back silently.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from mmadapt.errors import CheckpointError
from mmadapt.recipe import train
from mmadapt.recipe.checkpoint import (
    find_latest_intact_checkpoint,
    load_checkpoint,
    resolve_resume,
    save_checkpoint,
)

from .recipe_standin import ClipSet, make_model
from .test_recipe_checkpoint import _ckpt
from .test_recipe_resume import _cfg, _Crash


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _foreign_torch_file(path: Path) -> None:
    torch.save({"x": 1}, path)


def _missing_keys(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    del payload["optimizer"], payload["rng"]
    torch.save(payload, path)


def _pickled_object(path: Path) -> None:
    torch.save({"x": Path("/")}, path)  # loads only with weights_only=False: refused, nothing runs


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty": (_empty, "is empty"),
    "truncated": (_truncated, "truncated or corrupt"),
    "random_bytes": (_random_bytes, "not a torch checkpoint file"),
    "foreign_torch_file": (_foreign_torch_file, "not a training checkpoint"),
    "missing_keys": (_missing_keys, r"lacks \['optimizer', 'rng'\]"),
    "pickled_object": (_pickled_object, "objects other than tensors"),
}


def _saved(tmp_path: Path, epoch: int) -> Path:
    return save_checkpoint(_ckpt(epoch, torch.Generator().manual_seed(epoch)), tmp_path)


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_file_is_a_checkpoint_error_naming_it(tmp_path, kind):
    damage, what = DAMAGE[kind]
    path = _saved(tmp_path, 1)
    damage(path)
    with pytest.raises(CheckpointError, match=what) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert "weights_only" not in message  # torch's advice to unpickle arbitrary code is never passed on


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_auto_skips_damaged_newest_with_a_warning(tmp_path, kind):
    older, newest = _saved(tmp_path, 1), _saved(tmp_path, 2)
    DAMAGE[kind][0](newest)
    with pytest.warns(UserWarning, match=f"skipped damaged training checkpoint.*{newest.name}"):
        assert resolve_resume("auto", tmp_path) == older
    with pytest.warns(UserWarning, match=newest.name):
        assert find_latest_intact_checkpoint(tmp_path) == older


def test_auto_with_only_intact_checkpoints_warns_nothing(tmp_path):
    _saved(tmp_path, 1)
    newest = _saved(tmp_path, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_resume("auto", tmp_path) == newest


def test_auto_with_every_checkpoint_damaged_refuses_to_start_over(tmp_path):
    paths = [_saved(tmp_path, 1), _saved(tmp_path, 2)]
    _empty(paths[0])
    _truncated(paths[1])
    with pytest.raises(CheckpointError, match="no intact training checkpoint") as info:
        resolve_resume("auto", tmp_path)
    assert all(p.name in str(info.value) for p in paths)


def test_auto_with_no_checkpoint_still_starts_fresh(tmp_path):
    assert resolve_resume("auto", tmp_path) is None


def _crashed_run(out_dir: Path) -> None:
    """Dies in epoch 3 (3 steps per epoch) with epoch_0001.pt and epoch_0002.pt on disk."""
    with pytest.raises(KeyboardInterrupt):
        train(make_model(0), ClipSet(12), ClipSet(5, seed=1), _cfg(out_dir), callbacks=[_Crash(at_step=8)])


def test_training_with_auto_continues_from_the_older_intact_checkpoint(tmp_path):
    _crashed_run(tmp_path / "damaged")
    shutil.copytree(tmp_path / "damaged", tmp_path / "direct")
    _truncated(tmp_path / "damaged" / "checkpoints" / "epoch_0002.pt")

    fallback = make_model(0)
    with pytest.warns(UserWarning, match="epoch_0002.pt"):
        result = train(fallback, ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path / "damaged", resume="auto"))
    direct = make_model(0)
    older = tmp_path / "direct" / "checkpoints" / "epoch_0001.pt"
    reference = train(direct, ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path / "direct", resume=str(older)))

    assert result.summary["resumed_from"].endswith("epoch_0001.pt")
    a, b = fallback.adapter_state_dict(), direct.adapter_state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert result.final == reference.final and result.epochs_completed == reference.epochs_completed == 4
    assert json.loads((tmp_path / "damaged" / "metrics.jsonl").read_text().splitlines()[-1])["epoch"] == 4


def test_training_with_an_explicit_damaged_path_raises(tmp_path):
    _crashed_run(tmp_path)
    path = tmp_path / "checkpoints" / "epoch_0002.pt"
    _truncated(path)
    with pytest.raises(CheckpointError, match=f"{path}.*truncated or corrupt"):
        train(make_model(0), ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path, resume=str(path)))
