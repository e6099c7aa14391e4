"""Resuming with changed settings: epochs and lr changes follow the schedule a fresh run would have, changes to the
training math that cannot be honoured are refused with the list of differences."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.errors import ConfigError
from mmadapt.recipe import TrainConfig, train
from mmadapt.recipe.resume_changes import APPLIED, FREE, plan_resume

from .recipe_standin import ClipSet, make_model
from .test_recipe_resume import _Crash


def _cfg(out_dir, **kw) -> TrainConfig:
    base = dict(
        epochs=3,
        batch_size=4,
        num_workers=0,
        device="cpu",
        out_dir=str(out_dir),
        log_every=0,
        lr=1e-2,
        keep_checkpoints=1,
        progress=False,
    )
    return TrainConfig(**{**base, **kw})


def _train(out_dir, **kw):
    return train(make_model(0), ClipSet(8), ClipSet(3, seed=1), _cfg(out_dir, **kw))


def _fresh_rate(epoch, lr, epochs, min_lr=0.0):
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * epoch / epochs)) / 2


def _epoch_rates(result):
    return [r["lr"] for r in result.history if r["event"] == "epoch"]


def test_extending_epochs_replans_the_cosine_instead_of_training_at_zero(tmp_path):
    """The issue's case: 3 epochs, then resumed with epochs=5 (the old T_max=3 gave epoch 4 a rate of 0)."""
    _train(tmp_path, epochs=3)
    result = _train(tmp_path, epochs=5, resume="auto")
    rates = _epoch_rates(result)
    assert rates[3:] == pytest.approx([_fresh_rate(e, 1e-2, 5) for e in (3, 4)], rel=1e-12)
    assert rates[3] > 0 and result.epochs_completed == 5
    assert result.summary["resume_changes"] == {"epochs": [3, 5]}


def test_a_changed_lr_is_applied_from_the_next_epoch(tmp_path):
    with pytest.raises(KeyboardInterrupt):  # 2 steps per epoch: dies in epoch 3
        train(make_model(0), ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path, epochs=4), callbacks=[_Crash(5)])
    result = _train(tmp_path, epochs=4, lr=1e-3, min_lr=1e-5, resume="auto")
    assert _epoch_rates(result)[2:] == pytest.approx([_fresh_rate(e, 1e-3, 4, 1e-5) for e in (2, 3)], rel=1e-12)
    assert result.summary["resume_changes"] == {"lr": [1e-2, 1e-3], "min_lr": [0.0, 1e-5]}


def test_a_resume_of_the_extended_run_continues_its_new_schedule(tmp_path):
    _train(tmp_path, epochs=2)
    _train(tmp_path, epochs=3, resume="auto")
    result = _train(tmp_path, epochs=4, resume="auto")  # the epoch-3 checkpoint carries epochs=3
    assert _epoch_rates(result)[3] == pytest.approx(_fresh_rate(3, 1e-2, 4), rel=1e-12)
    assert result.summary["resume_changes"] == {"epochs": [3, 4]}


@pytest.mark.parametrize(
    ("change", "listed"),
    [
        ({"batch_size": 8}, "batch_size: 4 -> 8"),
        ({"seed": 7}, "seed: 1 -> 7"),
        ({"grad_accum_steps": 2}, "grad_accum_steps: 1 -> 2"),
        ({"betas": (0.8, 0.9)}, "betas: [0.9, 0.999] -> [0.8, 0.9]"),
        ({"shuffle": False, "drop_last": False}, "drop_last: True -> False; shuffle: True -> False"),
    ],
)
def test_changes_to_the_training_math_are_refused_and_listed(tmp_path, change, listed):
    _train(tmp_path, epochs=2)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.pt")}
    with pytest.raises(ConfigError, match=f"cannot resume .*epoch_0002.pt with changed {re.escape(listed)}"):
        _train(tmp_path, epochs=3, resume="auto", **change)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.pt")} == before


def test_fewer_epochs_than_completed_are_refused(tmp_path):
    _train(tmp_path, epochs=3)
    with pytest.raises(ConfigError, match="epochs=2 but the checkpoint has already completed 3 epochs"):
        _train(tmp_path, epochs=2, resume="auto")


def test_execution_settings_may_change_freely(tmp_path):
    _train(tmp_path, epochs=2)
    result = _train(tmp_path, epochs=2, resume="auto", log_every=1, keep_checkpoints=3, eval_every=2)
    assert result.summary["resume_changes"] == {}


_KEYS = sorted(TrainConfig().to_dict())
_OTHER = {
    "epochs": 7,
    "lr": 3e-3,
    "min_lr": 1e-6,
    "weight_decay": 0.5,
    "batch_size": 2,
    "seed": 9,
    "eps": 1e-6,
    "betas": [0.5, 0.6],
    "grad_accum_steps": 3,
    "drop_last": False,
    "shuffle": False,
}


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(sorted(_OTHER))))
def test_a_resume_is_refused_exactly_when_a_key_outside_the_allowed_ones_changed(changed):
    saved = TrainConfig().to_dict()
    cfg = TrainConfig(**{**{k: v for k, v in saved.items() if k in ("epochs",)}, **{k: _OTHER[k] for k in changed}})
    refused = {k for k in changed if k not in APPLIED}
    if refused:
        with pytest.raises(ConfigError) as err:
            plan_resume(saved, cfg, 0, "ckpt")
        assert all(f"{k}: " in str(err.value) for k in refused)
    else:
        assert set(plan_resume(saved, cfg, 0, "ckpt").applied) == set(changed)


def test_every_train_config_key_has_a_decision_or_is_refused():
    undecided = set(_KEYS) - FREE - APPLIED
    assert undecided == {"batch_size", "betas", "drop_last", "eps", "grad_accum_steps", "loss", "seed", "shuffle"}
