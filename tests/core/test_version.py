"""One version source: ``mmadapt._version`` feeds the package metadata, ``mmadapt.__version__`` and every stamp."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from safetensors import safe_open

import mmadapt
from mmadapt import _version
from mmadapt.recipe.config import TrainConfig, library_version
from mmadapt.recipe.experiment import ExperimentConfig

from .helpers import make_pair, wrap

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_version_is_the_one_in_version_py():
    assert mmadapt.__version__ == _version.__version__ == library_version()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mmadapt._version.__version__"}


def test_saved_configs_stamp_that_version():
    assert TrainConfig().to_dict()["mmadapt_version"] == _version.__version__
    assert ExperimentConfig().to_dict()["mmadapt_version"] == _version.__version__


def test_a_saved_adapter_stamps_that_version(tmp_path):
    audio, video, *_ = make_pair("timm+timm")
    wrap(audio, video).save_adapter(tmp_path)
    assert json.loads((tmp_path / "adapter_config.json").read_text())["mmadapt_version"] == _version.__version__
    with safe_open(str(tmp_path / "adapter_model.safetensors"), "pt") as f:
        assert f.metadata()["mmadapt_version"] == _version.__version__


def test_a_converted_directory_stamps_that_version(tmp_path):
    from mmadapt.convert import from_official, save_converted

    from ..convert._helpers import TINY, tiny_state_dict

    model = from_official(tiny_state_dict(160), 160, 7, **TINY).model
    written = save_converted(model, tmp_path)
    assert json.loads((tmp_path / "converted_backbones.json").read_text())["mmadapt_version"] == _version.__version__
    with safe_open(str(written["audio_backbone.safetensors"]), "pt") as f:
        assert f.metadata()["mmadapt_version"] == _version.__version__
