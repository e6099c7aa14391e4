"""The generic core never imports the layers built on it: backbone builders, method wings, the demo, the recipe,
data, the CLI or the converter.

Checked on the source with ``ast`` (no import side effects): every ``import`` / ``from ... import`` in a core module,
at module level or inside a function, relative ones resolved, and ``importlib.import_module("...")`` with a literal
name. The finder itself is tested on synthetic snippets first, so that this test can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mmadapt

PACKAGE_DIR = Path(mmadapt.__file__).parent

CORE = (
    "model.py",
    "lockstep.py",
    "streams.py",
    "registry.py",
    "config*.py",
    "checkpoint.py",
    "errors.py",
    "presets.py",
    "pos_embed.py",
    "adapters/**/*.py",
    "anatomy/**/*.py",
)
"""Glob patterns, relative to the package, of the generic core (``presets.py`` holds only the registry of presets;
``pos_embed.py`` is the resampling the anatomies share)."""

ABOVE_THE_CORE = (
    "mmadapt.backbones",
    "mmadapt.methods",
    "mmadapt.demo",
    "mmadapt.recipe",
    "mmadapt.data",
    "mmadapt.cli",
    "mmadapt.convert",
    "mmadapt.integrations",
)


# ---- the import finder ---------------------------------------------------------------------------------------
def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Absolute names of everything ``source`` (the text of ``module``) imports, anywhere in the file.

    ``from a import b`` yields both ``a`` and ``a.b`` (``b`` may be a submodule); relative imports are resolved
    against ``module``'s package.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 >= len(package):
                    raise ValueError(f"{module}: relative import beyond the top-level package")
                base = ".".join(package[: len(package) - (node.level - 1)])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def violations(imported: set[str], forbidden: tuple[str, ...]) -> list[str]:
    """The imported names that are, or lie inside, one of the ``forbidden`` packages."""
    return sorted(n for n in imported if any(n == f or n.startswith(f + ".") for f in forbidden))


def module_name(path: Path) -> tuple[str, bool]:
    """``(dotted name, is_package)`` of a file of the mmadapt package."""
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def core_files() -> list[Path]:
    return sorted({p for pattern in CORE for p in PACKAGE_DIR.glob(pattern)})


def imports_of(path: Path) -> set[str]:
    name, is_package = module_name(path)
    return imported_modules(path.read_text(encoding="utf-8"), name, is_package=is_package)


# ---- the finder can see a violation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from ..backbones.pos_embed import resample", "mmadapt.anatomy.fake", "mmadapt.backbones.pos_embed"),
        ("from .. import backbones", "mmadapt.anatomy.fake", "mmadapt.backbones"),
        ("from ... import demo", "mmadapt.adapters.fusion.fake", "mmadapt.demo"),
        ("from .convert import from_official", "mmadapt.fake", "mmadapt.convert"),
        ("import mmadapt.recipe.loop", "mmadapt.fake", "mmadapt.recipe.loop"),
        ("from mmadapt.methods.mma_dfer import presets", "mmadapt.fake", "mmadapt.methods.mma_dfer"),
        ("from mmadapt import cli", "mmadapt.fake", "mmadapt.cli"),
        ("def f():\n    from ..data import synthetic\n    return synthetic", "mmadapt.adapters.fake", "mmadapt.data"),
        ("class A:\n    def f(self):\n        import mmadapt.cli", "mmadapt.fake", "mmadapt.cli"),
        ("import importlib\nm = importlib.import_module('mmadapt.methods')", "mmadapt.fake", "mmadapt.methods"),
    ],
)
def test_the_finder_detects_an_upward_import(source, module, expected):
    found = imported_modules(source, module)
    assert expected in found
    assert expected in violations(found, ABOVE_THE_CORE)


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from ..errors import ConfigError", "mmadapt.anatomy.fake"),
        ("from .base import Anatomy", "mmadapt.anatomy.fake"),
        ("from ..pos_embed import resample_grid_pos_embed", "mmadapt.anatomy.fake"),
        ("import torch\nfrom torch import nn", "mmadapt.fake"),
        ("from mmadapt.registry import Registry", "mmadapt.fake"),
        ("from .backbones_like import x", "mmadapt.fake"),  # a prefix of a name is not the package
    ],
)
def test_the_finder_passes_an_allowed_import(source, module):
    assert violations(imported_modules(source, module), ABOVE_THE_CORE) == []


def test_relative_imports_resolve_from_a_package_init():
    found = imported_modules("from .fusion import base\nfrom .. import demo", "mmadapt.adapters", is_package=True)
    assert {"mmadapt.adapters.fusion", "mmadapt.adapters.fusion.base", "mmadapt.demo"} <= found


# ---- the package itself ----------------------------------------------------------------------------------------
def test_the_core_is_found():
    names = {module_name(p)[0] for p in core_files()}
    assert {"mmadapt.model", "mmadapt.lockstep", "mmadapt.config", "mmadapt.anatomy.hf_vit"} <= names
    assert any(n.startswith("mmadapt.adapters.fusion.") for n in names)


def test_the_finder_flags_a_real_module_that_imports_upward():
    # the package's __init__ re-exports the MMA-DFER wing and the backbone builders: it is not core, and it shows
    # the check reads real files the way it reads the snippets above
    assert {"mmadapt.methods.mma_dfer", "mmadapt.backbones"} <= set(
        violations(imports_of(PACKAGE_DIR / "__init__.py"), ABOVE_THE_CORE)
    )


def test_every_module_parses():
    for path in PACKAGE_DIR.rglob("*.py"):
        imports_of(path)  # a syntax error or an impossible relative import would raise here


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_the_core_does_not_import_the_layers_above(path):
    assert violations(imports_of(path), ABOVE_THE_CORE) == [], f"{path.relative_to(PACKAGE_DIR)} imports upward"


@pytest.mark.parametrize(
    "path", sorted(PACKAGE_DIR.glob("anatomy/**/*.py")), ids=lambda p: str(p.relative_to(PACKAGE_DIR))
)
def test_anatomies_do_not_import_backbones(path):
    assert violations(imports_of(path), ("mmadapt.backbones",)) == []
