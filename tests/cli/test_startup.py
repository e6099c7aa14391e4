"""Specification: the command line starts without the heavy libraries (issue 17 item 6).

``import mmadapt.cli``, building the parser and every ``--help`` import neither torch, timm, transformers, av nor
matplotlib; a subcommand imports what it needs inside ``run()``. Checked in a fresh interpreter, because this
test process has long imported them all. Behaviour only: the seconds are in ``benchmarks/bench_cli_startup.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mmadapt

HEAVY = ("torch", "timm", "transformers", "av", "matplotlib")
SRC = str(Path(mmadapt.__file__).resolve().parents[1])

PROBE = """
import contextlib, io, json, sys
import mmadapt.cli
stages = {"import": [m for m in HEAVY if m in sys.modules]}
mmadapt.cli.build_parser()
stages["parser"] = [m for m in HEAVY if m in sys.modules]
for argv in ([], *([name] for name in mmadapt.cli.COMMANDS)):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        mmadapt.cli.main([*argv, "--help"])
    assert "usage: mmadapt" in out.getvalue(), argv
    stages[" ".join(["mmadapt", *argv, "--help"])] = [m for m in HEAVY if m in sys.modules]
print(json.dumps(stages))
"""


def heavy_modules_by_stage() -> dict[str, list[str]]:
    """Stage -> the heavy libraries in ``sys.modules`` after it, from one fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_import_parser_and_every_help_leave_the_heavy_libraries_unimported():
    stages = heavy_modules_by_stage()
    assert {"import", "parser", "mmadapt --help", "mmadapt train --help", "mmadapt info --help"} <= set(stages)
    assert {stage: found for stage, found in stages.items() if found} == {}
