"""The red-team catalogue: one module per area, each with ``AREA`` and a ``cases()`` generator."""

from __future__ import annotations

import importlib
from functools import cache

from ..case import Case

AREAS = ("config_values", "model_inputs", "wrap_args", "adapter_files", "faults", "train_checkpoints", "data", "cli")
"""Catalogue modules in report order."""


@cache
def all_cases() -> tuple[Case, ...]:
    found: list[Case] = []
    for module in AREAS:
        found += importlib.import_module(f"{__name__}.{module}").cases()
    ids = [c.id for c in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"red-team case ids are not unique: {duplicates[:5]}")
    return tuple(found)
