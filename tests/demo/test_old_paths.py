"""The demo moved into its own wing (``mmadapt.demo``); the paths it had before still give the same objects."""

from __future__ import annotations

import pytest

import mmadapt.data
import mmadapt.data.synthetic
import mmadapt.demo
import mmadapt.demo.driver
import mmadapt.demo.scenes
import mmadapt.recipe
import mmadapt.recipe.demo


@pytest.mark.parametrize(
    ("old", "new"),
    [(mmadapt.data.synthetic, mmadapt.demo.scenes), (mmadapt.recipe.demo, mmadapt.demo.driver)],
    ids=["data.synthetic", "recipe.demo"],
)
def test_the_old_module_re_exports_every_public_name(old, new):
    assert sorted(old.__all__) == sorted(new.__all__)
    assert all(getattr(old, name) is getattr(new, name) for name in new.__all__)
    assert all(getattr(mmadapt.demo, name) is getattr(new, name) for name in new.__all__)


def test_the_package_level_names_still_work():
    assert mmadapt.recipe.DemoConfig is mmadapt.demo.DemoConfig and mmadapt.recipe.run_demo is mmadapt.demo.run_demo
    assert mmadapt.data.make_synthetic_dataset is mmadapt.demo.make_synthetic_dataset
    assert mmadapt.data.SYNTHETIC_CLASSES is mmadapt.demo.SYNTHETIC_CLASSES
