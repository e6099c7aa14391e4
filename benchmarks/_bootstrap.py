"""Make ``import mmadapt`` work from a plain checkout (scripts run as ``python benchmarks/x.py``).

The GPU machine may have the repository without an installed package: fall back to the repo's ``src``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


def ensure_mmadapt() -> None:
    if importlib.util.find_spec("mmadapt") is None:
        sys.path.insert(0, str(REPO_ROOT / "src"))
