"""Inside the package every import of mmadapt itself is relative, so a module reads the same wherever it moves and
a vendored copy imports its own files (function-level ``import mmadapt`` for the lazy package root is allowed)."""

from __future__ import annotations

import ast
from pathlib import Path

import mmadapt

PACKAGE = Path(mmadapt.__file__).parent


def _absolute_self_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: from {node.module} import ..."
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "mmadapt"
    ]


def test_package_modules_import_each_other_relatively():
    found = [line for path in sorted(PACKAGE.rglob("*.py")) for line in _absolute_self_imports(path)]
    assert not found, "absolute imports of mmadapt inside the package:\n" + "\n".join(found)


def test_the_check_sees_an_absolute_import(tmp_path):
    bad = PACKAGE / "_probe_for_dialect_test.py"
    try:
        bad.write_text("from mmadapt.errors import ConfigError\n", encoding="utf-8")
        assert _absolute_self_imports(bad) == ["mmadapt/_probe_for_dialect_test.py:1: from mmadapt.errors import ..."]
    finally:
        bad.unlink()
