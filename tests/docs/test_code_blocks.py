"""Every ```python block of README.md and docs/*.md runs: a page's blocks in order, in one namespace, in a temp
cwd. A block preceded by ``<!-- not-run: REASON -->`` is only compiled. A page that registers something (a family,
a kind, a preset) unregisters it again: the registries after the page equal those before it, and are restored
whatever happens, so a page cannot leak into the tests that run after it."""

from __future__ import annotations

import gc
import importlib
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"(?P<mark><!-- not-run: [^>]*-->\n)?```python\n(?P<code>.*?)```", re.S)


REGISTRY_MODULES = ("adapters", "anatomy", "backbones", "cli", "data", "export", "presets", "recipe", "study")
"""Subpackages of mmadapt that hold registries, imported (and their built-ins loaded) before a page runs."""


def _registries() -> dict[int, tuple[object, dict]]:
    """Every live registry (found by type, so one added later is covered) -> a copy of its entries."""
    from mmadapt.adapters import kinds
    from mmadapt.registry import Registry

    for name in REGISTRY_MODULES:
        importlib.import_module(f"mmadapt.{name}")
    live = [r for r in gc.get_objects() if issubclass(type(r), Registry)]  # type(): no lazy module's __getattr__
    found = {id(r): (r, dict(r._loaded())) for r in live}
    found[id(kinds._BY_CONFIG)] = (kinds._BY_CONFIG, dict(kinds._BY_CONFIG))
    return found


@contextmanager
def registries_restored() -> Iterator[dict[int, tuple[object, dict]]]:
    """Yield the registries' state before the block; put it back afterwards."""
    before = _registries()
    try:
        yield before
    finally:
        for holder, entries in before.values():
            table = holder if isinstance(holder, dict) else holder._entries
            table.clear()
            table.update(entries)


def _changes(before: dict[int, tuple[object, dict]]) -> list[str]:
    changed = []
    for key, (holder, entries) in _registries().items():
        old = before.get(key, (None, {}))[1]
        if entries != old:
            what = getattr(holder, "what", "adapter-kind config")
            changed.append(f"{what}: +{sorted(set(entries) - set(old))} -{sorted(set(old) - set(entries))}")
    return changed


def blocks(page: Path) -> list[tuple[bool, str]]:
    return [(m["mark"] is None, m["code"]) for m in _BLOCK.finditer(page.read_text())]


def test_the_readme_has_a_quickstart_that_runs():
    assert sum(run for run, _ in blocks(ROOT / "README.md")) >= 1


@pytest.fixture
def one_thread():
    """Tiny models: one intra-op thread is several times faster than many fighting over a busy machine's cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: p.name)
@pytest.mark.usefixtures("one_thread")
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"doc_{page.stem.replace('-', '_')}")  # as a user's file: dataclasses, pickle work
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with registries_restored() as before:
        for i, (run, code) in enumerate(blocks(page)):
            # dont_inherit: the page's code runs without this file's `from __future__ import annotations`
            compiled = compile(code, f"{page.name}[block {i}]", "exec", dont_inherit=True)
            if run:
                exec(compiled, module.__dict__)
        assert not _changes(before), f"{page.name} leaves registrations behind: {_changes(before)}"


@pytest.mark.parametrize("page", ["extending.md", "recipe.md"])
def test_guides_run_every_block(page):
    """The extending guide and the recipe are taught by code that runs: none of their blocks is only compiled."""
    found = blocks(ROOT / "docs" / page)
    assert found and all(run for run, _ in found), page
