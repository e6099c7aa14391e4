"""The README's preset and speed tables and docs/cli.md equal what tools/docgen.py renders from their sources."""

from __future__ import annotations

import re
from pathlib import Path

from tools import docgen

ROOT = Path(__file__).parents[2]


def test_generated_blocks_are_fresh():
    assert docgen.stale() == {}, "run: python tools/docgen.py"


def test_speed_figures_are_ones_results_md_prints():
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    for rate in re.findall(r"\| ([\d,]+) ", docgen.speed_table()):
        assert f"| {rate} |" in results, rate


def test_every_registered_preset_has_a_row():
    import mmadapt

    table = docgen.preset_table()
    assert all(f"| `{name}` |" in table for name in mmadapt.list_presets())
    assert "| 7,556,639 |" in table  # the mma-dfer count the official model gives at 160 px
