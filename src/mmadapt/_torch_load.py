"""The one way mmadapt reads a torch file: ``torch.load(weights_only=True)`` with its failures named in one line.

torch reports a bad file as RuntimeError (zip reader), EOFError, KeyError (a text file read as a legacy pickle),
or UnpicklingError, whose text advises re-running with ``weights_only=False``: that would execute whatever code
the file holds, so torch's advice is never passed on. The file's first bytes are checked first, so a text file or
random bytes is "not a torch checkpoint file" instead of torch's "pickled object" refusal.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

__all__ = ["safe_torch_load"]

HEAD_BYTES = 32
"""How much of the file's start is read to recognise it (and quoted, in part, when it is not recognised)."""
QUOTED_BYTES = 16
ZIP_MAGIC = b"PK\x03\x04"
"""Start of ``torch.save``'s zip archive format (the default since torch 1.6)."""
LEGACY_SIGNATURE = pickle.dumps(torch.serialization.MAGIC_NUMBER, protocol=2)[2:-1]
"""torch's magic number as pickled at the start of a legacy file (``_use_new_zipfile_serialization=False``),
without pickle's protocol header and stop opcode."""

_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")
_UNPICKLER_DETAIL = "WeightsUnpickler error:"
_TORCH_ADVICE = re.compile(r"weights_only|re-running|add_safe_globals|safe_globals|trust", re.IGNORECASE)


def _is_torch_file(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC) or LEGACY_SIGNATURE in head


def _first_fact(err: BaseException) -> str:
    """The first sentence of torch's message that states a fact rather than advice, or the error's type name."""
    text = str(err)
    if _UNPICKLER_DETAIL in text:  # "Weights only load failed. <advice> WeightsUnpickler error: <the fact>"
        text = text.split(_UNPICKLER_DETAIL, 1)[1]
    sentences = (s.strip() for line in text.splitlines() for s in line.split(". "))
    fact = next((s.rstrip(".") for s in sentences if s and not _TORCH_ADVICE.search(s)), "")
    return f"{type(err).__name__}: {fact}" if fact else type(err).__name__


def safe_torch_load(
    path: str | Path,
    what: str,
    safe_globals: Sequence[Any] = (),
    accepted: str = "tensors and plain containers",
) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)``, failing with a one-line :class:`CheckpointError`.

    ``what`` names the file's role in messages ("training checkpoint"); ``safe_globals`` are allow-listed for
    the restricted unpickler (as ``torch.serialization.safe_globals``); ``accepted`` says what a refused file
    may hold instead. An unreadable file (permissions) stays an ``OSError``: it is not damaged.
    """
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{what} {path} is empty (0 bytes)")
    if not _is_torch_file(head):
        raise CheckpointError(
            f"{what} {path} is not a torch checkpoint file (no zip archive header nor legacy torch magic number; "
            f"{size} bytes, starts with {head[:QUOTED_BYTES]!r})"
        )
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = _REFUSED_GLOBAL.search(str(err))
        if refused is not None:
            raise CheckpointError(
                f"refusing to load {what} {path}: it holds pickled objects other than {accepted} "
                f"(GLOBAL {refused.group(1)}); nothing was executed"
            ) from None
        raise CheckpointError(f"{what} {path} is truncated or corrupt ({size} bytes; {_first_fact(err)})") from None
    except Exception as err:  # torch has no common error type for a damaged file
        raise CheckpointError(f"{what} {path} is truncated or corrupt ({size} bytes; {_first_fact(err)})") from None
