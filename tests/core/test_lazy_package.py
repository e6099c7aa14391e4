"""Specification: ``import mmadapt`` is light, and its public names and registries behave as if it were eager.

The public names resolve on first access (PEP 562); the method wings' presets and backbone builders are registered
on the first use of their registry (``defer_registrations``), registering included, so a built-in is never missing
and can still be overridden.
"""

from __future__ import annotations

import sys
import types

import pytest

import mmadapt
import mmadapt.demo
from mmadapt import registry as registry_module
from mmadapt.registry import Registry, defer_registrations


@pytest.mark.parametrize("package", [mmadapt, mmadapt.demo], ids=lambda p: p.__name__)
def test_every_public_name_resolves_and_is_listed(package):
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))


def test_an_unknown_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        mmadapt.no_such_name  # noqa: B018


def test_builtin_presets_and_backbones_are_there_through_the_submodules():
    from mmadapt.backbones import list_backbones
    from mmadapt.presets import list_presets

    assert "mma-dfer" in list_presets()
    assert {"audiomae_vit_base", "maeface_vit_base"} <= set(list_backbones())


@pytest.fixture
def plugin(monkeypatch):
    """A module that registers ``builtin`` into a fresh registry named ``toy`` when it is imported."""
    monkeypatch.setattr(registry_module, "_DEFERRED", {})
    toy: Registry[int] = Registry("toy")
    module = types.ModuleType("toy_plugin")
    module.imported = 0

    def load():
        module.imported += 1
        toy.register("builtin", 1)

    monkeypatch.setitem(sys.modules, "toy_plugin", module)
    monkeypatch.setattr(
        registry_module.importlib, "import_module", lambda name: load() if name == "toy_plugin" else None
    )
    defer_registrations("toy", "toy_plugin")
    return toy, module


def test_deferred_module_is_imported_on_first_lookup_only(plugin):
    toy, module = plugin
    assert module.imported == 0
    assert toy.list() == ["builtin"]
    assert "builtin" in toy and len(toy) == 1
    assert module.imported == 1


def test_registering_first_still_meets_the_builtin(plugin):
    toy, _ = plugin
    with pytest.raises(mmadapt.RegistryError, match="already registered"):
        toy.register("builtin", 2)
    assert toy.register("builtin", 2, override=True) == 2
    assert toy.get("builtin") == 2


def test_a_failed_deferred_import_is_retried(monkeypatch):
    monkeypatch.setattr(registry_module, "_DEFERRED", {})
    defer_registrations("toy", "no_such_module_for_mmadapt_tests")
    toy: Registry[int] = Registry("toy")
    for _ in range(2):
        with pytest.raises(ModuleNotFoundError):
            toy.list()


@pytest.mark.slow
def test_the_library_imports_timm_only_to_build_a_timm_model():
    import json
    import os
    import subprocess
    from pathlib import Path

    probe = (
        "import json, sys\n"
        "heavy = lambda: [m for m in ('torch', 'timm', 'transformers') if m in sys.modules]\n"
        "import mmadapt\n"
        "seen = {'import mmadapt': heavy()}\n"
        "mmadapt.list_presets(), mmadapt.list_backbones(), mmadapt.wrap_encoders\n"
        "seen['presets, backbones, wrap_encoders'] = heavy()\n"
        "print(json.dumps(seen))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(mmadapt.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"import mmadapt": [], "presets, backbones, wrap_encoders": ["torch"]}
