"""`mmadapt demo --ablations` is a thin call of the study: the demo's four presets on one pair of frozen backbones."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from mmadapt.cli import main
from mmadapt.demo.driver import DEMO_ABLATIONS

from ..demo.test_demo import TINY


def _demo_ablations(out) -> str:
    sizes = [f"--set={key}={value}" for key, value in TINY.items() if key not in ("epochs", "n_per_class")]
    argv = ["demo", "--ablations", "--out", str(out), "--epochs", "1", "--n-per-class", "4", "--no-progress", *sizes]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(argv) == 0
    return stdout.getvalue()


@pytest.mark.slow
def test_demo_ablations_runs_the_study_of_the_four_presets_and_a_rerun_resumes(tmp_path):
    printed = _demo_ablations(tmp_path)
    folder = tmp_path / "ablations"
    summary = json.loads((folder / "study.json").read_text())
    assert summary["reference"] == DEMO_ABLATIONS[0] == "mma-dfer"
    assert summary["cells"] == len(DEMO_ABLATIONS)
    for preset in DEMO_ABLATIONS:
        assert preset in printed  # one table row each
        assert (folder / "cells" / preset / "seed_0.json").is_file()
    assert f"differences are preset - {DEMO_ABLATIONS[0]}" in printed
    cells = sorted((folder / "cells").glob("*/seed_0.json"))
    stamps = [p.stat().st_mtime_ns for p in cells]
    assert _demo_ablations(tmp_path) == printed  # resumed: nothing retrained, the same table
    assert [p.stat().st_mtime_ns for p in cells] == stamps
