"""Remembered answers of the CLI's pure queries, so that asking again costs no ``import torch``.

``mmadapt info`` without SPEC (a preset's table, ``--presets``) builds backbones on the meta device to count
parameters: that needs torch and timm, 2-3 s of imports before any output. Its text depends only on the arguments,
mmadapt's own code and the installed torch / timm / transformers / peft, so it is stored under a key made of exactly
those: the argument values, the path, size and modification time of every file of the mmadapt package, and the
packages' versions read from their metadata (no import). Any change to one of them is a different key, so a stale
answer is never shown. Answers live in ``$MMADAPT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/mmadapt`` or
``~/.cache/mmadapt``) under ``answers/``; an unwritable cache is skipped without a word (the answer is computed
each time), and ``--no-cache`` bypasses it.

A process that has imported torch already (``mmadapt.cli.main`` called from Python, perhaps after registering a
preset of its own) computes the answer afresh: the cache saves only the import, and in-process registrations are
not part of the key.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from .._io import write_text

__all__ = ["answer_key", "cache_dir", "read_answer", "usable", "write_answer"]

logger = logging.getLogger(__name__)

DEPENDENCIES = ("torch", "timm", "transformers", "peft")
"""Packages whose code decides the answers (models built, parameters counted)."""

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
"""The mmadapt package folder whose files are part of every key."""


def cache_dir() -> Path:
    """``$MMADAPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmadapt``, else ``~/.cache/mmadapt``."""
    if os.environ.get("MMADAPT_CACHE_DIR"):
        return Path(os.environ["MMADAPT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mmadapt"


def _code_stamp(root: Path) -> list[tuple[str, int, int]]:
    """(relative path, size, mtime in ns) of every source file under ``root``: edited code is a new key."""
    stamp = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".json", ".txt", ".yaml")):
                st = os.stat(os.path.join(folder, name))
                stamp.append((os.path.relpath(os.path.join(folder, name), root), st.st_size, st.st_mtime_ns))
    return stamp


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def answer_key(command: str, arguments: Mapping[str, object], root: Path = PACKAGE_ROOT) -> str:
    """A hex digest of everything the answer of ``command`` with ``arguments`` depends on."""
    parts = {
        "command": command,
        "arguments": {k: arguments[k] for k in sorted(arguments)},
        "code": _code_stamp(root),
        "versions": {p: _version(p) for p in DEPENDENCIES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def usable() -> bool:
    """Whether answers may come from the cache here: only in a process without torch (see the module's doc)."""
    return "torch" not in sys.modules


def _path(key: str) -> Path:
    return cache_dir() / "answers" / f"{key}.txt"


def read_answer(key: str) -> str | None:
    """The stored answer for ``key``, or None (never stored, or unreadable)."""
    try:
        return _path(key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write_answer(key: str, text: str) -> None:
    """Store ``text`` for ``key`` atomically; a cache that cannot be written is skipped (logged at debug level)."""
    try:
        write_text(_path(key), text)
    except OSError as err:
        logger.debug("answer cache not written (%s)", err)
