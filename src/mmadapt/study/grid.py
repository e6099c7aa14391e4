"""The study's grid of (preset, seed) cells, where each cell's result lives, and which cells are finished.

A cell is finished when its result file ``cells/<preset>/seed_<k>.json`` exists: the file is written atomically
(temp name + rename) as the cell's last act, so a half-trained cell leaves none and is trained again from scratch
on the next run, while a finished one is never rerun. Its training run folder is ``cells/<preset>/seed_<k>/``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import StudyConfig

__all__ = ["CELLS_DIR", "Cell", "grid", "load_result", "pending"]

CELLS_DIR = "cells"
"""Folder of the study folder holding one sub-folder per preset."""


@dataclass(frozen=True)
class Cell:
    """One preset trained with one seed."""

    preset: str
    seed: int

    def result_file(self, out_dir: str | Path) -> Path:
        return Path(out_dir) / CELLS_DIR / self.preset / f"seed_{self.seed}.json"

    def run_dir(self, out_dir: str | Path) -> Path:
        return Path(out_dir) / CELLS_DIR / self.preset / f"seed_{self.seed}"


def grid(study: StudyConfig) -> list[Cell]:
    """Every cell, seed by seed: an interrupted study has its first seeds complete for every preset, which is
    what the paired comparison needs."""
    return [Cell(preset, seed) for seed in study.seeds for preset in study.presets]


def load_result(cell: Cell, out_dir: str | Path) -> dict[str, Any] | None:
    """The cell's saved result, or None when it has not finished (no file, or one for another cell)."""
    path = cell.result_file(out_dir)
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("preset") != cell.preset or record.get("seed") != cell.seed:
        return None
    return record


def pending(study: StudyConfig) -> list[Cell]:
    """The cells still to train."""
    return [cell for cell in grid(study) if load_result(cell, study.out_dir) is None]
