"""Atomic file writes: a crash mid-write never leaves a half-written adapter, checkpoint, JSON or plot.

Everything is written to a temporary name in the destination folder and moved into place with
`os.replace`, which is atomic on POSIX and Windows when source and target share a file system.

Files that must change together (an adapter's config and weights) go through :func:`replace_unit`; see there.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


logger = logging.getLogger(__name__)

__all__ = [
    "PENDING_NAME",
    "STAGE_PREFIX",
    "atomic_path",
    "atomic_write",
    "atomic_write_json",
    "finish_pending",
    "fsync_dir",
    "has_pending",
    "read_user_text",
    "replace_unit",
    "to_jsonable",
    "unit_file",
    "write_json",
    "write_safetensors",
    "write_text",
    "write_torch",
]


def _config_error(path: Path, problem: str) -> Exception:
    from .errors import ConfigError

    return ConfigError(f"{path}: {problem}")


def read_user_text(
    path: str | os.PathLike[str],
    what: str = "file",
    error: Callable[[Path, str], Exception] = _config_error,
) -> str:
    """The UTF-8 text of a file the user wrote (config, manifest, class names, annotation list).

    Every such read goes through here so that a latin-1 file, a folder or a missing path is one line naming the
    file (and the offending byte), never a raw ``UnicodeDecodeError``. ``error(path, problem)`` builds the
    exception (a :class:`~mmadapt.errors.ConfigError` by default; the data layer passes its own).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(path, f"{what} not found") from None
    except IsADirectoryError:
        raise error(path, f"{what} expected, got a folder") from None
    except OSError as err:
        raise error(path, f"cannot read {what} ({err.strerror or err})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(path, f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})") from None


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
    """Turn tensors, tuples and paths into JSON types.

    Non-finite floats become the strings ``"nan"``, ``"inf"`` and ``"-inf"``: strict JSON has no literal for them,
    and ``null`` would read back as "missing" and hide a diverged loss. ``float(value)`` turns them back.
    """
    torch = sys.modules.get("torch")  # a tensor exists only if torch was imported: no import for plain JSON
    if torch is not None and isinstance(obj, torch.Tensor):
        return to_jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(float(obj))  # 'nan', 'inf', '-inf' (also for numpy floats)
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
    import torch

    return atomic_write(path, lambda handle: torch.save(obj, handle))


def write_safetensors(
    path: str | os.PathLike[str], tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> Path:
    """Atomically write ``tensors`` as a safetensors file (private contiguous CPU copies: safetensors refuses
    shared or strided storage)."""
    from safetensors.torch import save_file

    private = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:  # written straight to disk: no second in-memory copy of a large model
        save_file(private, str(tmp), metadata=dict(metadata) if metadata is not None else None)
    return Path(path)


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


# ---- several files replaced as one unit -------------------------------------------------------------------
STAGE_PREFIX = ".mmadapt-save.tmp-"
"""A folder being written by :func:`replace_unit` (a kill leaves it behind; the next save removes it)."""
PENDING_NAME = ".mmadapt-save.pending"
"""A complete, committed unit whose files are being moved into place."""


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make the entries of a folder (renames into or out of it) durable; a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # Windows: folders cannot be opened, and NTFS journals renames itself
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename is still atomic
    finally:
        os.close(fd)


def unit_file(directory: str | os.PathLike[str], name: str) -> Path:
    """Where file ``name`` of the unit in ``directory`` holds its newest committed content.

    A save interrupted after its commit leaves the files it has not moved yet in the pending folder; each file is
    at any instant either there (the directory still has the previous one) or already moved, so "pending first,
    then the directory" always gives the whole newest unit.
    """
    pending = Path(directory) / PENDING_NAME / name
    return pending if pending.is_file() else Path(directory) / name


def has_pending(directory: str | os.PathLike[str]) -> bool:
    """Whether a committed save in ``directory`` was interrupted before all its files were moved into place."""
    return (Path(directory) / PENDING_NAME).is_dir()


def replace_unit(directory: str | os.PathLike[str], writers: Mapping[str, Callable[[Path], object]]) -> Path:
    """Replace the files ``writers`` names in ``directory`` as one unit: a reader going through :func:`unit_file`
    sees all the previous files or all the new ones, whatever kills the writer at whatever moment.

    ``writers[name](path)`` writes file ``name`` at ``path``. The steps:

    1. finish a committed save a crash interrupted (step 4 of that one), then remove leftovers of crashed saves:
       staging folders (``.mmadapt-save.tmp-*``) and the ``.<name>.*.tmp`` files of single-file atomic writes;
    2. write every file into a fresh staging folder ``.mmadapt-save.tmp-<uuid>`` inside ``directory``, fsynced;
    3. commit: rename the staging folder to ``.mmadapt-save.pending`` (one atomic rename), fsync ``directory``;
    4. move each file out of the pending folder onto its name (``os.replace``), then remove the empty folder.

    A crash before 3 leaves the previous files untouched (and a staging folder the next call removes); after 3
    :func:`unit_file` takes each file from the pending folder while it is still there, which is the new unit, and
    the next call completes the moves. The staging happens inside ``directory``, not beside it, so that other files
    in it (a converted model's backbones, a user's notes) are never touched, the folder keeps its identity (``.``,
    a mount point, an open handle) and no write access to its parent is needed. One writer at a time: two
    concurrent saves into one folder are not supported, and a reader racing a writer (not a crashed one) may read
    one file before and one after the save; the guarantee is for whatever is on disk once the writer has stopped.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    finish_pending(directory)
    _remove_leftovers(directory, writers)
    stage = directory / f"{STAGE_PREFIX}{uuid.uuid4().hex}"
    stage.mkdir()
    try:
        for name, write in writers.items():
            write(stage / name)
        fsync_dir(stage)
        os.replace(stage, directory / PENDING_NAME)  # the commit point
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    fsync_dir(directory)
    finish_pending(directory)
    return directory


def finish_pending(directory: str | os.PathLike[str]) -> None:
    """Move the files of a committed save into place and remove its pending folder (nothing to do without one)."""
    directory = Path(directory)
    pending = directory / PENDING_NAME
    if not pending.is_dir():
        return
    for entry in sorted(pending.iterdir()):
        os.replace(entry, directory / entry.name)
    fsync_dir(directory)
    pending.rmdir()
    fsync_dir(directory)


def _remove_leftovers(directory: Path, names: Mapping[str, object]) -> None:
    """Staging folders of crashed saves and temp files of crashed single-file writes of these names."""
    removed = [p for p in directory.glob(f"{STAGE_PREFIX}*") if p.is_dir()]
    for name in names:
        removed += [p for p in directory.glob(f".{name}.*.tmp") if p.is_file()]
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if removed:
        logger.info("removed %d leftovers of interrupted saves in %s", len(removed), directory)
