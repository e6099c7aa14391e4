"""The official MMA-DFER state dict layout (``data/official_keys_{S}.txt``) and random fillers.

The key lists are facts copied from the project's ``shared/mma-dfer`` folder into the repository, so a clone
runs every official-layout test; ``test_keys.py`` checks the copies against that folder where it is present.

Each line of a key file is ``key (d0, d1, ...) torch.dtype trainable`` (trainable under main.py's rule).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import torch

__all__ = [
    "SIZES",
    "TINY_HEADS",
    "TINY_TEMPORAL_HEADS",
    "TINY_WIDTHS",
    "KeySpec",
    "official_keys_path",
    "official_state_dict",
    "parse_official_keys",
    "shared_dir",
]

SHARED_ENV = "MMADAPT_SHARED"
CLASSIFIER_PREFIX = "our_classifier."
GATE_PATTERN = re.compile(r"\.all_gate\.\d+$")
TINY_WIDTHS = {768: 64, 2304: 192, 3072: 256, 128: 16, 512: 32, 1024: 64}
"""Dimension map for a fast stand-in with the official layout: backbone width 768 -> 64 (qkv 2304, MLP 3072
scaled alike), fusion width 128 -> 16, temporal width 512 -> 32 (to_kv / FF 1024 alike). Token counts,
patch size, prompt counts, depth and classes are unchanged. Use with ``TINY_HEADS`` / ``TINY_TEMPORAL_HEADS``."""
TINY_HEADS = 4
TINY_TEMPORAL_HEADS = 8
_LINE = re.compile(r"^(?P<key>\S+) \((?P<shape>[\d, ]*)\) torch\.(?P<dtype>\w+) (?P<trainable>True|False)$")


class KeySpec(NamedTuple):
    """One official state-dict entry; ``spec[:3]`` is ``(key, shape, trainable)``."""

    key: str
    shape: tuple[int, ...]
    trainable: bool
    dtype: torch.dtype


DATA_DIR = Path(__file__).resolve().parent / "data"
SIZES = (112, 160, 224)


def shared_dir() -> Path | None:
    """The project's ``shared/`` folder beside the repository root (else ``$MMADAPT_SHARED``), or None."""
    beside_repo = Path(__file__).resolve().parents[2].parent / "shared"
    if beside_repo.is_dir():
        return beside_repo
    env = os.environ.get(SHARED_ENV)
    return Path(env) if env and Path(env).is_dir() else None


def official_keys_path(img_size: int) -> Path:
    """The repository's copy of the official key list at ``img_size``."""
    path = DATA_DIR / f"official_keys_{img_size}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no official key list for img_size={img_size} (have {SIZES})")
    return path


def parse_official_keys(img_size: int) -> list[KeySpec]:
    """The official keys at ``img_size`` in file order."""
    path = official_keys_path(img_size)
    specs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.match(line.strip())
        if match is None:
            raise ValueError(f"{path}:{number}: cannot parse {line!r}")
        shape = tuple(int(d) for d in match["shape"].replace(" ", "").split(",") if d)
        dtype = getattr(torch, match["dtype"])
        specs.append(KeySpec(match["key"], shape, match["trainable"] == "True", dtype))
    return specs


def official_state_dict(
    img_size: int,
    num_classes: int = 7,
    seed: int = 0,
    nonzero_gates: bool = True,
    *,
    widths: Mapping[int, int] | None = None,
) -> dict[str, torch.Tensor]:
    """Random tensors with exactly the official keys, shapes and dtypes (deterministic in ``seed``).

    Weights and biases ~ N(0, 0.02); LayerNorm weights (the only 1-D ``.weight`` entries) ~ 1 + N(0, 0.02);
    fusion gates ~ U(-0.5, 0.5) if ``nonzero_gates`` else 0. The classifier gets ``num_classes`` rows.
    ``widths`` (e.g. ``TINY_WIDTHS``) replaces dimensions by value, for a fast model of the same layout.
    """
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key, shape, _, dtype in parse_official_keys(img_size):
        if widths:
            shape = tuple(widths.get(d, d) for d in shape)
        if key.startswith(CLASSIFIER_PREFIX):
            shape = (num_classes, *shape[1:])
        if GATE_PATTERN.search(key):
            value = torch.rand(shape, generator=gen) - 0.5 if nonzero_gates else torch.zeros(shape)
        elif key.endswith(".weight") and len(shape) == 1:
            value = 1.0 + 0.02 * torch.randn(shape, generator=gen)
        else:
            value = 0.02 * torch.randn(shape, generator=gen)
        out[key] = value.to(dtype)
    return out
