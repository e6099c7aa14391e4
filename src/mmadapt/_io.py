"""Atomic file writes: a crash mid-write never leaves a half-written adapter, checkpoint, JSON or plot.

Everything is written to a temporary name in the destination folder and moved into place with
`os.replace`, which is atomic on POSIX and Windows when source and target share a file system.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import torch

__all__ = [
    "atomic_path",
    "atomic_write",
    "atomic_write_json",
    "to_jsonable",
    "write_json",
    "write_text",
    "write_torch",
]


def atomic_write(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], None]) -> Path:
    """Call `writer` on a temporary binary file beside `path`, fsync it, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _default_mode())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return path


def _default_mode() -> int:
    """0o666 minus the process umask: what ``open(path, "w")`` would have given the file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def to_jsonable(obj: Any) -> Any:
    """Turn tensors, tuples and paths into JSON types; NaN/inf become None (they are not valid JSON)."""
    if isinstance(obj, torch.Tensor):
        return to_jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(value) for value in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write `obj` as indented, strictly valid JSON."""
    return write_text(path, json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n")


def write_torch(path: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically `torch.save` `obj`."""
    return atomic_write(path, lambda handle: torch.save(obj, handle))


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for writers that need a file name (PyAV, PIL); it is renamed onto
    ``path`` only if the block succeeds, and removed otherwise."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=final.suffix or ".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _default_mode())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


atomic_write_json = write_json
