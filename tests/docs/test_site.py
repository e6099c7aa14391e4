"""The documentation site builds with ``mkdocs build --strict``: no warning, no broken link, offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tools.mkdocs_hooks import strip_roles

ROOT = Path(__file__).parents[2]
ROLE_TEXT = re.compile(r":(class|func|meth|mod|attr|data|exc|obj):<code>")


def test_mkdocs_build_is_strict_clean(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("wrap_encoders") > 0
    shown = [p for p in (tmp_path / "site").rglob("*.html") if ROLE_TEXT.search(p.read_text(encoding="utf-8"))]
    assert not shown, f"Sphinx roles shown as text on {[str(p.relative_to(tmp_path)) for p in shown]}"


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        (":class:<code>~mmadapt.errors.NonFiniteError</code>", "<code>NonFiniteError</code>"),
        (":func:<code>~.predict.predict_timeline</code>)", "<code>predict_timeline</code>)"),
        (":mod:<code>mmadapt.data.batch</code>", "<code>mmadapt.data.batch</code>"),
        (":meth:<code>.detach</code>", "<code>detach</code>"),
        ("a ratio 1:2 and <code>x</code>", "a ratio 1:2 and <code>x</code>"),
    ],
)
def test_a_sphinx_role_shows_the_name_sphinx_would(html, shown):
    assert strip_roles(html) == shown
