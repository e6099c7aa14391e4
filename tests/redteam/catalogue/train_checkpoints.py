"""Training checkpoints (issue 13 item 10): damaged, foreign and hostile files under ``resume=PATH`` (a named error)
and ``resume='auto'`` (falls back to the newest intact checkpoint with a warning naming the damaged one; all damaged
is a named error). A hostile pickle must never run.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from mmadapt.recipe.checkpoint import checkpoint_dir, load_checkpoint, resolve_resume, save_checkpoint
from tests.recipe.test_recipe_checkpoint import _ckpt

from ..case import Case, Catalogue
from ._tmp import fresh_dir

AREA = "checkpoints"


class _Hostile:
    """Unpickling this touches ``marker``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def _truncate(fraction: float) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: max(1, int(len(data) * fraction))])

    return damage


def _rewrite(change: Callable[[dict], Any]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        payload = torch.load(path, weights_only=True)
        torch.save(change(payload), path)

    return damage


def _zip_of_text(path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("notes.txt", "not a checkpoint")
    path.write_bytes(buffer.getvalue())


def _hostile(path: Path) -> None:
    torch.save({"format": "x", "payload": _Hostile(path.parent / "PWNED")}, path)


def _plain_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"epoch": 1}))


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _dangling_link(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.pt")


def _set(key: str, value: Any) -> Callable[[dict], dict]:
    return lambda p: {**p, key: value}


def _drop(*keys: str) -> Callable[[dict], dict]:
    return lambda p: {k: v for k, v in p.items() if k not in keys}


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty": lambda p: p.write_bytes(b""),
    "one-byte": _truncate(0.0),
    **{f"truncated-{f}": _truncate(f) for f in (0.1, 0.5, 0.9, 0.999)},
    "random-bytes": lambda p: p.write_bytes(os.urandom(4096)),
    "text": lambda p: p.write_text("epoch: 3\n"),
    "zip-of-text": _zip_of_text,
    "plain-pickle": _plain_pickle,
    "hostile-pickle": _hostile,
    "pickled-path": lambda p: torch.save({"x": Path("/")}, p),
    "a-tensor": lambda p: torch.save(torch.zeros(3), p),
    "a-list": lambda p: torch.save([1, 2], p),
    "foreign-dict": lambda p: torch.save({"state_dict": {}}, p),
    "format-other": _rewrite(_set("format", "other")),
    "no-optimizer": _rewrite(_drop("optimizer")),
    "no-adapter-rng": _rewrite(_drop("adapter", "rng")),
    "epoch-str": _rewrite(_set("epoch", "3")),
    "epoch-bool": _rewrite(_set("epoch", True)),
    "adapter-list": _rewrite(_set("adapter", [1])),
    "a-folder": _folder,
    "dangling-symlink": _dangling_link,
}
NOT_A_FILE = ("a-folder", "dangling-symlink")
"""Damage after which the path is no file: an explicit path is a FileNotFoundError naming it."""


def _run_dir(damage: Callable[[Path], None]) -> tuple[Path, Path, Path]:
    out = fresh_dir()
    older = save_checkpoint(_ckpt(1, torch.Generator().manual_seed(1)), out)
    newest = save_checkpoint(_ckpt(2, torch.Generator().manual_seed(2)), out)
    damage(newest)
    return out, older, newest


def _explicit(damage: Callable[[Path], None], via_resolve: bool) -> Callable[[], Any]:
    def run() -> Any:
        out, _, newest = _run_dir(damage)
        path = resolve_resume(str(newest), out) if via_resolve else newest
        return load_checkpoint(path)

    return run


def _auto(damage: Callable[[Path], None]) -> Callable[[], Any]:
    def run() -> Any:
        out, older, newest = _run_dir(damage)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            chosen = resolve_resume("auto", out)
            load_checkpoint(chosen)
        return chosen, older, newest, [str(w.message) for w in caught]

    return run


def _fell_back(result: Any) -> str | None:
    chosen, older, newest, messages = result
    if chosen != older:
        return f"resume='auto' chose {chosen}, not the intact {older.name}"
    if not any(newest.name in m for m in messages):
        return f"no warning named the skipped {newest.name}: {messages}"
    return None


def _all_damaged(damage: Callable[[Path], None]) -> Callable[[], Any]:
    def run() -> Any:
        out, older, _ = _run_dir(damage)
        damage(older)
        return resolve_resume("auto", out)

    return run


def _no_marker(kind: str) -> Callable[[], str | None]:
    if kind != "hostile-pickle":
        return lambda: None

    def after() -> str | None:
        from ._tmp import _root

        ran = list(_root().rglob("PWNED"))
        return f"a hostile pickle ran: {ran}" if ran else None

    return after


def cases() -> list[Case]:
    cat = Catalogue(AREA)
    for kind, damage in DAMAGE.items():
        after = _no_marker(kind)
        cat.add(f"{kind}/load_checkpoint", 10, _explicit(damage, False), token="epoch_0002.pt", after=after)
        cat.add(f"{kind}/resume=path", 10, _explicit(damage, True), token="epoch_0002.pt", after=after)
        cat.add(f"{kind}/resume=auto", 10, _auto(damage), expect=("ok",), check=_fell_back, after=after)
        cat.add(f"{kind}/resume=auto-all-damaged", 10, _all_damaged(damage), token="epoch_0001.pt", after=after)
    cat.add(
        "missing/resume=path",
        10,
        lambda: resolve_resume(str(fresh_dir() / "epoch_0009.pt"), fresh_dir()),
        token="epoch_0009.pt",
    )
    cat.add(
        "empty-run-folder/resume=auto",
        10,
        lambda: resolve_resume("auto", fresh_dir()),
        expect=("ok",),
        check=lambda chosen: None if chosen is None else f"chose {chosen} in an empty folder",
    )
    cat.add(
        "only-tmp-leftover/resume=auto",
        10,
        _only_leftover,
        expect=("ok",),
        check=lambda chosen: None if chosen is None else f"chose the leftover {chosen}",
    )
    return cat.with_pending(DEFECTS)


DEFECTS: dict[str, str] = {}


def _only_leftover() -> Any:
    out = fresh_dir()
    checkpoint_dir(out).mkdir()
    (checkpoint_dir(out) / ".epoch_0003.pt.abc123.tmp").write_bytes(b"PK\x03\x04half")
    return resolve_resume("auto", out)
