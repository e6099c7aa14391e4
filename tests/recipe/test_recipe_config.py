"""TrainConfig: official defaults, validation, JSON/YAML round-trip, key=value overrides."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmadapt.errors import ConfigError
from mmadapt.recipe.config import TrainConfig, apply_overrides


def test_defaults_are_the_official_recipe():
    cfg = TrainConfig()
    assert cfg.out_dir == "runs/mmadapt"  # the generic toolkit's default; no method name in it
    assert (cfg.lr, cfg.weight_decay, cfg.betas, cfg.eps) == (1e-4, 1e-2, (0.9, 0.999), 1e-8)
    assert (cfg.epochs, cfg.min_lr, cfg.batch_size, cfg.drop_last) == (25, 0.0, 8, True)
    assert (cfg.loss, cfg.seed, cfg.grad_accum_steps, cfg.amp, cfg.eval_batch_size) == (
        "cross_entropy",
        1,
        1,
        "auto",
        1,
    )


def test_every_field_has_help_text():
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata.get("help"), f.name


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_file_round_trip(tmp_path, suffix):
    cfg = TrainConfig(lr=3e-4, epochs=2, betas=(0.8, 0.9), resume="auto", max_steps=5, amp="off")
    path = cfg.save(tmp_path / f"cfg{suffix}")
    assert TrainConfig.load(path) == cfg
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_to_dict_is_json_and_stamped():
    data = json.loads(json.dumps(TrainConfig().to_dict()))
    assert "mmadapt_version" in data
    assert TrainConfig.from_dict(data) == TrainConfig()


def test_unknown_keys_are_rejected_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"epochs": 0}, ValueError),
        ({"batch_size": -8}, ValueError),
        ({"betas": (1.0, 0.9)}, ValueError),
        ({"amp": "fp16"}, ValueError),
        ({"epochs": "3"}, ConfigError),
        ({"lr": True}, ConfigError),
        ({"max_steps": 0}, ValueError),
        ({"min_lr": 1.0}, ValueError),
    ],
)
def test_bad_values_are_rejected(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        TrainConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": float("nan")}, "TrainConfig.lr must be a finite number, got nan"),
        ({"weight_decay": float("inf")}, "TrainConfig.weight_decay must be a finite number, got inf"),
        ({"device": "gpu"}, "TrainConfig.device must be 'auto' or a torch device such as 'cpu', 'cuda'"),
        ({"device": "meta"}, "TrainConfig.device must be 'auto' or a torch device"),
        ({"device": ""}, "TrainConfig.device must be 'auto' or a torch device"),
        ({"loss": "cross_entropi"}, "TrainConfig.loss: unknown loss 'cross_entropi'; did you mean 'cross_entropy'?"),
    ],
)
def test_values_that_would_fail_only_in_training_are_refused_when_the_config_is_built(kwargs, message):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", "mps"])
def test_devices_are_checked_by_name_not_by_what_this_machine_has(device):
    assert TrainConfig(device=device).device == device


def test_overrides_parse_by_field_type():
    cfg = apply_overrides(
        TrainConfig(),
        [
            "lr=3e-4",
            "epochs=2",
            "amp=off",
            "resume=none",
            "betas=0.9,0.98",
            "compile=true",
            "max_steps=7",
            "out_dir=x/y",
        ],
    )
    assert (cfg.lr, cfg.epochs, cfg.amp, cfg.resume, cfg.betas) == (3e-4, 2, "off", None, (0.9, 0.98))
    assert (cfg.compile, cfg.max_steps, cfg.out_dir) == (True, 7, "x/y")
    assert TrainConfig().lr == 1e-4  # the input is not modified


@pytest.mark.parametrize(
    ("override", "error", "match"),
    [
        ("epochs=2.5", ValueError, "expected an integer"),
        ("lr=abc", ValueError, "expected a number"),
        ("compile=maybe", ValueError, "boolean"),
        ("amp=fp16", ValueError, "one of"),
        ("epocs=2", ConfigError, "did you mean 'epochs'"),
        ("epochs", ValueError, "key=value"),
        ("epochs=0", ValueError, "epochs must be > 0"),
        ("betas=0.9", ValueError, "2 comma-separated"),
    ],
)
def test_bad_overrides_say_what_is_wrong(override, error, match):
    with pytest.raises(error, match=match):
        apply_overrides(TrainConfig(), [override])


@given(n=st.integers(1, 10**6), lr=st.floats(1e-9, 10.0, allow_nan=False))
def test_override_values_round_trip_through_text(n, lr):
    cfg = apply_overrides(TrainConfig(), [f"epochs={n}", f"lr={lr!r}"])
    assert (cfg.epochs, cfg.lr) == (n, lr)


@pytest.mark.parametrize("cpus, workers", [(1, 0), (2, 1), (3, 2), (5, 4), (64, 4)])
def test_num_workers_defaults_to_what_the_machine_has(monkeypatch, cpus, workers):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    cfg = TrainConfig()
    assert cfg.num_workers == workers
    assert cfg.to_dict()["num_workers"] == workers  # a saved config records the number it ran with
    assert TrainConfig(num_workers=3).num_workers == 3  # an explicit value is kept as given
    assert TrainConfig.from_dict({**cfg.to_dict(), "num_workers": 6}).num_workers == 6


def test_the_default_worker_count_draws_no_dataloader_warning_on_two_cores(monkeypatch):
    import os
    import warnings

    from torch.utils.data import DataLoader

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when workers exceed the CPUs it may use
        DataLoader(range(4), num_workers=TrainConfig().num_workers).check_worker_number_rationality()
    with pytest.warns(UserWarning, match="worker"):  # what the old fixed default of 4 drew
        DataLoader(range(4), num_workers=4).check_worker_number_rationality()
