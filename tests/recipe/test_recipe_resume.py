"""Resuming after a crash reaches bit-identical adapter weights and the same metrics log.

Shuffling and dropout are on, so the data order and the dropout masks after the resume depend on the
restored RNG streams; a control run that skips the RNG restore must end elsewhere.
"""

from __future__ import annotations

import json

import pytest
import torch

import mmadapt.recipe.loop as loop_module
from mmadapt.recipe import Callback, TrainConfig, train

from .recipe_standin import ClipSet, make_model


class _Crash(Callback):
    """Raises at a given optimizer step, like a killed job."""

    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_step_end(self, state, record):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt("simulated kill")


def _cfg(out_dir, **kw) -> TrainConfig:
    base = dict(
        epochs=4,
        batch_size=4,
        num_workers=0,
        device="cpu",
        out_dir=str(out_dir),
        log_every=1,
        lr=1e-2,
        keep_checkpoints=2,
        progress=False,
    )
    return TrainConfig(**{**base, **kw})


_TIMING = ("time", "clips_per_s", "train_clips_per_s")


def _untimed(records):
    return [{k: v for k, v in rec.items() if k not in _TIMING} for rec in records]


def _log(path):
    return _untimed(json.loads(line) for line in path.read_text().splitlines())


def _run_crash_then_resume(tmp_path):
    train_set, val_set = ClipSet(12), ClipSet(5, seed=1)
    with pytest.raises(KeyboardInterrupt):  # 3 steps per epoch: dies in the middle of epoch 3
        train(make_model(0), train_set, val_set, _cfg(tmp_path), callbacks=[_Crash(at_step=8)])
    last = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert (last["event"], last["epoch"], last["step"]) == ("train_step", 3, 7)  # written after the checkpoint
    model = make_model(0)
    result = train(model, train_set, val_set, _cfg(tmp_path, resume="auto"))
    return model, result


def test_resume_matches_an_uninterrupted_run(tmp_path):
    straight = make_model(0)
    reference = train(straight, ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path / "straight"))
    resumed, result = _run_crash_then_resume(tmp_path / "resumed")
    a, b = straight.adapter_state_dict(), resumed.adapter_state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert result.summary["resumed_from"].endswith("epoch_0002.pt")
    assert result.final == reference.final and _untimed(result.history) == _untimed(reference.history)
    # the crashed run's lines after the checkpoint were dropped: the log equals the unbroken one
    assert _log(tmp_path / "resumed" / "metrics.jsonl") == _log(tmp_path / "straight" / "metrics.jsonl")


def test_without_rng_restore_the_result_differs(tmp_path, monkeypatch):
    straight = make_model(0)
    train(straight, ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path / "straight"))
    monkeypatch.setattr(loop_module, "restore_rng_state", lambda *args, **kwargs: None)
    resumed, _ = _run_crash_then_resume(tmp_path / "resumed")
    a, b = straight.adapter_state_dict(), resumed.adapter_state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    model = make_model(0)
    first = train(model, ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path, epochs=2))
    before = model.adapter_state_dict()
    again_model = make_model(0)
    again = train(again_model, ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path, epochs=2, resume="auto"))
    after = again_model.adapter_state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert again.final == first.final and again.epochs_completed == 2
