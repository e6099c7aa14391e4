"""Named backbone registry and the load report's invariants."""

import pytest

from mmadapt.backbones import LoadReport, create_backbone, list_backbones, register_backbone


def test_lists_builders():
    assert list_backbones() == sorted(list_backbones())
    assert {"audiomae_vit_base", "maeface_vit_base"} <= set(list_backbones())
    assert list_backbones("audio*") == ["audiomae_vit_base"]


def test_unknown_name_lists_known():
    with pytest.raises(KeyError, match="maeface_vit_base"):
        create_backbone("nope")


def test_registration_is_validated():
    with pytest.raises(ValueError, match="lower-case"):
        register_backbone("Bad-Name")
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("audiomae_vit_base")(lambda checkpoint=None: None)
    with pytest.raises(TypeError, match="callable"):
        register_backbone("not_callable_test")(3)


def test_report_groups_must_not_overlap():
    with pytest.raises(ValueError, match="ignored"):
        LoadReport(loaded=("a",), ignored=("a",))
    with pytest.raises(ValueError, match="loaded and resampled"):
        LoadReport(loaded=("a",), resampled={"a": ((1,), (2,))})
    report = LoadReport(source="x", loaded=("a",), ignored=("h",), initialised=("h",))
    assert report.pretrained and "1 loaded" in report.summary()
