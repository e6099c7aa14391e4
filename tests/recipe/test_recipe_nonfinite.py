"""Non-finite training: a NaN/inf loss or gradient is skipped up to `max_nonfinite_steps`, then the run stops with
`NonFiniteError` before any NaN reaches a checkpoint, an adapter or a summary; JSON logs keep NaN visible."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from mmadapt._io import to_jsonable, write_json
from mmadapt.errors import ConfigError, MMAdaptError, NonFiniteError
from mmadapt.recipe import TrainConfig, train
from mmadapt.recipe.callbacks import MetricsLogger
from mmadapt.recipe.checkpoint import load_checkpoint
from mmadapt.recipe.losses import LOSSES, register_loss

from .recipe_standin import ClipSet, make_model

_LOSS = "zz_test_nonfinite"
_CALLS = {"n": 0}  # loss calls so far, shared by every get_loss() of the test (training comes first)
_PLAN: dict[str, object] = {}  # which calls go bad and how: {"bad": set of 1-based calls, "kind": ...}


def _bad_loss_factory():
    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        _CALLS["n"] += 1
        value = F.cross_entropy(logits.float(), targets, reduction="none")
        if _CALLS["n"] not in _PLAN["bad"]:  # type: ignore[operator]
            return value
        kind = _PLAN["kind"]
        if kind == "grad":  # a finite loss whose gradient is NaN
            if logits.requires_grad:
                logits.register_hook(lambda g: g * math.nan)
            return value
        return value + (math.nan if kind == "nan" else math.inf)  # a non-finite loss with finite gradients

    return loss


@pytest.fixture
def bad_loss() -> Iterator[callable]:
    register_loss(_LOSS, _bad_loss_factory)

    def plan(bad: set[int], kind: str = "nan") -> str:
        _CALLS["n"], _PLAN["bad"], _PLAN["kind"] = 0, bad, kind
        return _LOSS

    yield plan
    LOSSES.unregister(_LOSS)


def _cfg(out_dir, **kw) -> TrainConfig:
    # 12 clips / batch 4 = 3 optimizer steps per epoch; one loss call per step
    base = dict(
        epochs=3,
        batch_size=4,
        num_workers=0,
        device="cpu",
        out_dir=str(out_dir),
        log_every=1,
        lr=1e-2,
        progress=False,
        keep_checkpoints=5,
    )
    return TrainConfig(**{**base, **kw})


@pytest.mark.parametrize(("kind", "shown"), [("nan", "loss nan"), ("inf", "loss inf"), ("grad", "grad norm nan")])
def test_a_non_finite_step_stops_the_run_and_keeps_the_last_finite_checkpoint(tmp_path, bad_loss, kind, shown):
    model = make_model(0)
    cfg = _cfg(tmp_path, loss=bad_loss({5, 6, 7, 8, 9}, kind))  # epoch 2's 2nd step goes bad
    with pytest.raises(NonFiniteError, match=rf"^training stopped at epoch 2, step 5: .*{shown}") as raised:
        train(model, ClipSet(12), None, cfg)
    assert "\n" not in str(raised.value) and "max_nonfinite_steps=0" in str(raised.value)
    assert isinstance(raised.value, MMAdaptError) and isinstance(raised.value, FloatingPointError)
    # nothing is written after the failure: no adapter, no summary, no checkpoint of the diverged epoch
    assert not (tmp_path / "adapter").exists() and not (tmp_path / "summary.json").exists()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_0001.pt"]
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "epoch_0001.pt")
    assert ckpt.epoch == 1 and ckpt.global_step == 3
    assert all(torch.isfinite(v).all() for v in ckpt.adapter.values())
    # the skipped step never updated the model: its weights are still finite
    assert all(torch.isfinite(v).all() for v in model.adapter_state_dict().values())
    # the last finite checkpoint resumes into a healthy model
    fresh = make_model(1)
    fresh.load_adapter_state_dict(ckpt.adapter, strict=True)
    assert all(torch.equal(v, ckpt.adapter[k]) for k, v in fresh.adapter_state_dict().items())


def test_max_nonfinite_steps_skips_bad_steps_and_the_run_finishes(tmp_path, bad_loss):
    model = make_model(0)
    result = train(model, ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path, loss=bad_loss({1, 2}), max_nonfinite_steps=2))
    assert result.global_step == 3 * 3 - 2  # the two skipped steps took no optimizer step
    assert all(torch.isfinite(v).all() for v in model.adapter_state_dict().values())
    assert all(math.isfinite(r["train_loss"]) for r in result.history)  # skipped windows stay out of the mean
    saved = torch.load(tmp_path / "adapter" / "adapter.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in saved.values())
    steps = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if r["event"] == "train_step"] == list(range(1, 8))


def test_one_bad_step_more_than_allowed_stops_the_run(tmp_path, bad_loss):
    cfg = _cfg(tmp_path, loss=bad_loss({1, 2}), max_nonfinite_steps=1)
    with pytest.raises(
        NonFiniteError,
        match=r"^training stopped at epoch 1, step 1: loss nan.*\(2 non-finite steps, "
        r"train.max_nonfinite_steps=1\)",
    ):
        train(make_model(0), ClipSet(12), None, cfg)
    assert not (tmp_path / "adapter").exists() and not (tmp_path / "checkpoints").exists()


def test_max_nonfinite_steps_must_not_be_negative(tmp_path):
    with pytest.raises(ConfigError, match=r"^TrainConfig.max_nonfinite_steps must be >= 0, got -1$"):
        _cfg(tmp_path, max_nonfinite_steps=-1)


@pytest.mark.parametrize(("value", "written"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf"), (1.5, 1.5)])
def test_json_writers_spell_non_finite_numbers_out(tmp_path, value, written):
    assert to_jsonable({"a": [value, torch.tensor(value)]}) == {"a": [written, written]}
    assert json.loads(write_json(tmp_path / "s.json", {"loss": value}).read_text()) == {"loss": written}
    assert float(written) == value or math.isnan(value)  # float() reads the strings back

    logger = MetricsLogger()
    logger.path = tmp_path / "metrics.jsonl"
    logger.on_log(None, {"event": "train_step", "loss": value})  # type: ignore[arg-type]
    line = logger.path.read_text()
    assert json.loads(line)["loss"] == written and "null" not in line


def test_the_skip_allowance_counts_per_run_across_a_resume(tmp_path, bad_loss):
    first = train(make_model(0), ClipSet(12), None, _cfg(tmp_path, epochs=1, loss=bad_loss({1}), max_nonfinite_steps=1))
    assert first.summary["nonfinite_steps_skipped"] == 1
    assert load_checkpoint(tmp_path / "checkpoints" / "epoch_0001.pt").nonfinite_steps == 1
    cfg = _cfg(tmp_path, epochs=2, loss=bad_loss({1}), max_nonfinite_steps=1, resume="auto")
    with pytest.raises(NonFiniteError, match=r"\(2 non-finite steps, train.max_nonfinite_steps=1\)"):
        train(make_model(0), ClipSet(12), None, cfg)  # the resumed run's first bad step is the run's second


def test_a_run_diverging_before_its_first_checkpoint_says_none_was_written(tmp_path, bad_loss):
    """The message pointed at a checkpoints folder that did not exist (found by a new-user review)."""
    with pytest.raises(NonFiniteError, match="no adapter written, no checkpoint was written yet; try a lower lr"):
        train(make_model(0), ClipSet(12), None, _cfg(tmp_path, loss=bad_loss({1})))
    assert not (tmp_path / "checkpoints").exists()
