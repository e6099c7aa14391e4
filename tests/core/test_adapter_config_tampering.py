"""A hand-edited or damaged ``adapter_config.json`` is refused with one mmadapt error naming the file or the field,
never a raw TypeError/KeyError/RecursionError, and the model it was loaded into stays as it was (issue 13 item 9)."""

from __future__ import annotations

import json

import pytest
import torch

import mmadapt
from mmadapt.checkpoint import CONFIG_NAME
from mmadapt.errors import MMAdaptError

from .helpers import clone, make_pair, randomise_gates, wrap

WRONG_VALUES = [[], {}, "abc", 7, 2.5, None, True]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(adapter folder, its config as a dict, pristine backbones, the model's logits on fixed inputs)."""
    audio, video, *_ = make_pair("timm+timm")
    pristine = (clone(audio), clone(video))
    model = wrap(audio, video)
    randomise_gates(model)
    directory = model.save_adapter(tmp_path_factory.mktemp("tamper") / "adapter")
    return directory, json.loads((directory / CONFIG_NAME).read_text(encoding="utf-8")), pristine


def _paths(data, prefix=()):
    """Every (key path) of the JSON object, depth first."""
    for key, value in data.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from _paths(value, (*prefix, key))


def _set(data, path, value):
    data = json.loads(json.dumps(data))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _load(directory, pristine):
    return mmadapt.MultimodalAdapterModel.from_pretrained(directory, clone(pristine[0]), clone(pristine[1]))


def test_every_field_set_to_every_wrong_json_type_is_an_mmadapt_error(saved, tmp_path):
    directory, original, pristine = saved
    target = tmp_path / "adapter"
    target.mkdir()
    for name in ("adapter_model.safetensors",):
        (target / name).write_bytes((directory / name).read_bytes())
    raw: list[str] = []
    for path in _paths(original):
        for value in WRONG_VALUES:
            if original_value(original, path) == value and type(original_value(original, path)) is type(value):
                continue  # not a change
            (target / CONFIG_NAME).write_text(json.dumps(_set(original, path, value)), encoding="utf-8")
            try:
                _load(target, pristine)
            except MMAdaptError as err:
                assert "\n" not in str(err), (path, value, str(err))
            except Exception as err:
                raw.append(f"{'.'.join(path)}={value!r}: {type(err).__name__}: {err}")
    assert not raw, "\n".join(raw)


def original_value(data, path):
    for key in path:
        data = data[key]
    return data


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format_version": 2, "config": {}, "backbones": [{"width": 32}]}', "'backbones' must be a JSON object"),
        ("caf\xe9", "not UTF-8"),
    ],
)
def test_a_damaged_config_file_is_named(saved, tmp_path, text, fragment):
    directory, _, pristine = saved
    target = tmp_path / "adapter"
    target.mkdir()
    (target / "adapter_model.safetensors").write_bytes((directory / "adapter_model.safetensors").read_bytes())
    (target / CONFIG_NAME).write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode())
    with pytest.raises(mmadapt.CheckpointError, match=fragment) as info:
        _load(target, pristine)
    assert str(target / CONFIG_NAME) in str(info.value)


def test_a_missing_backbone_field_is_named(saved, tmp_path):
    directory, original, pristine = saved
    data = json.loads(json.dumps(original))
    del data["backbones"]["audio"]["width"]
    target = tmp_path / "adapter"
    target.mkdir()
    (target / "adapter_model.safetensors").write_bytes((directory / "adapter_model.safetensors").read_bytes())
    (target / CONFIG_NAME).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(mmadapt.ConfigError, match="missing field 'width'"):
        _load(target, pristine)


def test_a_refused_config_leaves_the_model_untouched(saved, tmp_path):
    directory, original, pristine = saved
    audio, video = clone(pristine[0]), clone(pristine[1])
    model = wrap(audio, video)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    target = tmp_path / "adapter"
    target.mkdir()
    (target / "adapter_model.safetensors").write_bytes((directory / "adapter_model.safetensors").read_bytes())
    (target / CONFIG_NAME).write_text(json.dumps(_set(original, ("backbones",), [])), encoding="utf-8")
    with pytest.raises(mmadapt.CheckpointError):
        model.load_adapter(target)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
