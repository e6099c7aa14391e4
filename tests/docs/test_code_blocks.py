"""Every ```python block of README.md and docs/*.md runs: a page's blocks in order, in one namespace, in a temp
cwd. A block preceded by ``<!-- not-run: REASON -->`` is only compiled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?P<mark><!-- not-run: [^>]*-->\n)?```python\n(?P<code>.*?)```", re.S)


def blocks(page: Path) -> list[tuple[bool, str]]:
    return [(m["mark"] is None, m["code"]) for m in _BLOCK.finditer(page.read_text())]


def test_the_readme_has_a_quickstart_that_runs():
    assert sum(run for run, _ in blocks(ROOT / "README.md")) >= 1


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.name)
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"doc_{page.stem}"}
    for i, (run, code) in enumerate(blocks(page)):
        compiled = compile(code, f"{page.name}[block {i}]", "exec")
        if run:
            exec(compiled, namespace)
