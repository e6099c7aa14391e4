"""What ``load_adapter`` / ``from_pretrained`` refuse in an adapter folder, and what ``save_adapter`` refuses to
write: unknown format versions, tensors of a dtype their parameter cannot take, non-finite values."""

from __future__ import annotations

import json
import math
import re
import shutil

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import mmadapt
from mmadapt import CheckpointError
from mmadapt.checkpoint import CONFIG_NAME, WEIGHTS_NAME

from .helpers import clone, make_pair, randomise_gates, wrap

KEY = "head.classifier.weight"


@pytest.fixture
def saved(tmp_path):
    """(model, its adapter folder, pristine backbones)."""
    audio, video, *_ = make_pair("timm+timm")
    pristine = (clone(audio), clone(video))
    model = wrap(audio, video)
    randomise_gates(model)
    return model, model.save_adapter(tmp_path / "adapter"), pristine


def _edit_config(directory, **entries):
    path = directory / CONFIG_NAME
    data = json.loads(path.read_text())
    data.update(entries)
    path.write_text(json.dumps(data))


def _edit_weights(directory, edit, metadata=None):
    path = directory / WEIGHTS_NAME
    with safe_open(str(path), "pt") as f:
        meta = dict(f.metadata() or {})
    state = load_file(str(path))
    edit(state)
    save_file(state, str(path), metadata={**meta, **(metadata or {})})


def _loaders(model, directory, pristine, **kw):
    yield lambda: model.load_adapter(directory, **kw)
    yield lambda: mmadapt.MultimodalAdapterModel.from_pretrained(directory, *map(clone, pristine), **kw)


# ---- format version ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", [99, 0, "abc", "2", 2.0, True, None, [2]])
def test_an_unknown_config_format_version_is_refused_naming_it(saved, version):
    model, directory, pristine = saved
    _edit_config(directory, format_version=version)
    for load in _loaders(model, directory, pristine):
        with pytest.raises(CheckpointError, match=rf"format_version {re.escape(repr(version))} \(supported: 1, 2"):
            load()


def test_a_config_without_format_version_is_refused(saved):
    model, directory, _ = saved
    data = json.loads((directory / CONFIG_NAME).read_text())
    del data["format_version"]
    (directory / CONFIG_NAME).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="no 'format_version'"):
        model.load_adapter(directory)


@pytest.mark.parametrize(("stamp", "message"), [("99", "format_version '99'"), ("1", "weights are format 1")])
def test_the_weights_format_version_is_checked_too(saved, stamp, message):
    model, directory, pristine = saved
    _edit_weights(directory, lambda state: None, metadata={"format_version": stamp})
    for load in _loaders(model, directory, pristine):
        with pytest.raises(CheckpointError, match=message):
            load()


# ---- dtypes -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.int8, torch.complex64])
def test_a_tensor_of_a_non_float_dtype_is_refused_not_cast(saved, dtype):
    model, directory, pristine = saved
    _edit_weights(directory, lambda state: state.__setitem__(KEY, state[KEY].to(dtype)))
    before = {k: v.clone() for k, v in model.adapter_state_dict().items()}
    for load in _loaders(model, directory, pristine):
        with pytest.raises(CheckpointError, match=rf"{KEY}: .*{str(dtype).removeprefix('torch.')}.*float32"):
            load()
    assert all(torch.equal(before[k], v) for k, v in model.adapter_state_dict().items())


def test_a_non_float_tensor_in_an_in_memory_state_dict_is_refused(saved):
    model, *_ = saved
    state = model.adapter_state_dict()
    state[KEY] = state[KEY].to(torch.int64)
    with pytest.raises(CheckpointError, match=rf"{KEY}: .*int64.*float32"):
        model.load_adapter_state_dict(state)


def test_another_float_precision_loads(saved):
    model, directory, pristine = saved
    _edit_weights(directory, lambda state: state.__setitem__(KEY, state[KEY].to(torch.float16)))
    model.load_adapter(directory)
    assert model.adapter_state_dict()[KEY].dtype == torch.float32


# ---- non-finite values ------------------------------------------------------------------------------------
def _poison(state):
    state[KEY].view(-1)[:3] = math.nan
    state["head.classifier.bias"].view(-1)[0] = math.inf


def test_non_finite_tensors_are_refused_by_default(saved):
    model, directory, pristine = saved
    _edit_weights(directory, _poison)
    before = {k: v.clone() for k, v in model.adapter_state_dict().items()}
    for load in _loaders(model, directory, pristine):
        with pytest.raises(
            CheckpointError,
            match=r"non-finite.*head\.classifier\.bias \(1 of 5\).*"
            rf"{KEY} \(3 of \d+\).*strict_finite=False",
        ):
            load()
    assert all(torch.equal(before[k], v) for k, v in model.adapter_state_dict().items())


def test_strict_finite_false_loads_them_with_a_warning(saved):
    model, directory, pristine = saved
    _edit_weights(directory, _poison)
    for load in _loaders(model, directory, pristine, strict_finite=False):
        with pytest.warns(UserWarning, match=rf"non-finite.*{KEY} \(3 of"):
            load()
    assert torch.isnan(model.adapter_state_dict()[KEY]).sum().item() == 3


def test_save_adapter_refuses_non_finite_tensors_and_writes_nothing(saved, tmp_path):
    model, directory, pristine = saved
    good = {p.name: p.read_bytes() for p in directory.iterdir()}
    with torch.no_grad():
        _poison(dict(model.adapter_named_parameters()))
    for target in (directory, tmp_path / "fresh"):
        with pytest.raises(CheckpointError, match=rf"refusing to save.*non-finite.*{KEY} \(3 of"):
            model.save_adapter(target)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == good
    assert not (tmp_path / "fresh" / CONFIG_NAME).exists()


def test_v1_fixture_still_passes_every_check(tmp_path):
    from ..compat.test_adapter_v1 import FIXTURE, _saved_backbones

    shutil.copytree(FIXTURE / "adapter", tmp_path / "v1")
    mmadapt.MultimodalAdapterModel.from_pretrained(tmp_path / "v1", *_saved_backbones())
