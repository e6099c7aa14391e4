"""docs/api.md is the public API reference: every name of ``mmadapt.__all__`` has an entry (a mkdocstrings
``::: path`` directive whose object is that very export), so a new export fails here until it is documented; and
every exported class and function has a docstring of its own, which the entry renders as its purpose."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import mmadapt

API = Path(__file__).parents[2] / "docs" / "api.md"
_DIRECTIVE = re.compile(r"^::: (?P<path>[\w.]+)\n(?P<options>(?:    .*\n)*)", re.M)


def resolve(path: str) -> Any:
    """The object a directive names: the longest importable module prefix, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def entries() -> dict[str, Any]:
    """Shown name (the ``heading`` option, else the path) -> the object of every directive in api.md."""
    found = {}
    for m in _DIRECTIVE.finditer(API.read_text()):
        heading = re.search(r"^\s+heading: (\S+)$", m["options"], re.M)
        found[heading[1] if heading else m["path"]] = resolve(m["path"])
    return found


def test_every_export_has_an_entry():
    documented = entries()
    missing = [n for n in mmadapt.__all__ if documented.get(f"mmadapt.{n}", object()) is not getattr(mmadapt, n)]
    assert missing == [], f"exported but not in docs/api.md: {missing}"


def test_every_top_level_entry_is_an_export():
    stray = [name for name in entries() if name.count(".") == 1 and name.split(".")[1] not in mmadapt.__all__]
    assert stray == [], f"docs/api.md shows top-level names that mmadapt does not export: {stray}"


def _own_doc(obj: Any) -> str:
    doc = obj.__doc__ or ""
    if inspect.isclass(obj) and doc.startswith(f"{obj.__name__}("):  # what @dataclass writes when there is none
        return ""
    return doc.strip()


@pytest.mark.parametrize("name", [n for n in mmadapt.__all__ if callable(getattr(mmadapt, n))])
def test_every_exported_class_and_function_says_what_it_is_for(name):
    assert _own_doc(getattr(mmadapt, name)), f"mmadapt.{name} has no docstring"
