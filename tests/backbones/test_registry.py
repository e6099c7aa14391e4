"""Named backbone registry (one ``Registry`` like every other) and the load report's invariants."""

import pytest

from mmadapt import Registry, RegistryError
from mmadapt.backbones import LoadReport, create_backbone, list_backbones, register_backbone
from mmadapt.backbones.registry import BACKBONES


def test_lists_builders():
    assert list_backbones() == sorted(list_backbones())
    assert {"audiomae_vit_base", "maeface_vit_base"} <= set(list_backbones())
    assert list_backbones("audio*") == ["audiomae_vit_base"]


def test_backbones_use_the_one_registry_type():
    assert isinstance(BACKBONES, Registry)
    assert BACKBONES.list() == list_backbones()


def test_unknown_name_lists_known():
    with pytest.raises(RegistryError, match="maeface_vit_base"):
        create_backbone("nope")


def test_unknown_name_names_the_close_match():
    with pytest.raises(RegistryError, match=r"unknown backbone 'maeface_vit_bas'; did you mean 'maeface_vit_base'"):
        create_backbone("maeface_vit_bas")


@pytest.mark.parametrize("name", ["Bad-Name", "maeface-vit", "1vit", "_vit", ""])
def test_names_are_lower_case_identifiers(name):
    with pytest.raises(RegistryError, match=r"invalid backbone name .*\[a-z\]\[a-z0-9_\]\*"):
        register_backbone(name)(lambda checkpoint=None: None)


def test_builders_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        register_backbone("not_callable_test")(3)
    assert "not_callable_test" not in list_backbones()


def test_a_taken_name_needs_override():
    original = BACKBONES.get("audiomae_vit_base")
    with pytest.raises(RegistryError, match="already registered.*override=True"):
        register_backbone("audiomae_vit_base")(lambda checkpoint=None: None)
    assert BACKBONES.get("audiomae_vit_base") is original
    register_backbone("audiomae_vit_base")(original)  # the very same builder again is fine


def test_override_replaces_and_create_calls_the_builder():
    calls = []

    def builder(checkpoint=None, **kwargs):
        calls.append((checkpoint, kwargs))
        return "built"

    register_backbone("registry_test_vit")(builder)
    try:
        assert create_backbone("registry_test_vit", "ckpt.pth", img_size=32) == "built"
        assert calls == [("ckpt.pth", {"img_size": 32})]
        register_backbone("registry_test_vit", override=True)(lambda checkpoint=None: "replaced")
        assert create_backbone("registry_test_vit") == "replaced"
    finally:
        BACKBONES.unregister("registry_test_vit")
    assert "registry_test_vit" not in list_backbones()


def test_report_groups_must_not_overlap():
    with pytest.raises(ValueError, match="ignored"):
        LoadReport(loaded=("a",), ignored=("a",))
    with pytest.raises(ValueError, match="loaded and resampled"):
        LoadReport(loaded=("a",), resampled={"a": ((1,), (2,))})
    report = LoadReport(source="x", loaded=("a",), ignored=("h",), initialised=("h",))
    assert report.pretrained and "1 loaded" in report.summary()
