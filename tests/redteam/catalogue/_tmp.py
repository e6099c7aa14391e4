"""Scratch folders of the cases: one session folder, a fresh sub-folder per call, removed at exit."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from functools import cache
from pathlib import Path

_COUNTER = itertools.count()


@cache
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="mmadapt-redteam-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def fresh_dir() -> Path:
    """A new empty folder (cases run in any order and any number of times)."""
    path = _root() / f"case{next(_COUNTER):05d}"
    path.mkdir()
    return path
