"""`--check-finite` on `mmadapt train`, `eval` and `predict` (issue 13 item 13): shorthand for
`train.check_finite=true`, which the Trainer and the rebuilt evaluation model apply; off unless given."""

from __future__ import annotations

import argparse

import pytest

import mmadapt.finite
from mmadapt.cli import build_parser, main
from mmadapt.cli._common import flag_overrides, load_experiment

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")

ARGV = {
    "train": ["train", "--out", "run"],
    "eval": ["eval", "--adapter", "run", "--manifest", "test.csv"],
    "predict": ["predict", "--adapter", "run", "clip.mp4"],
}


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("command", sorted(ARGV))
def test_the_flag_is_the_train_check_finite_override(command):
    on = _parse([*ARGV[command], "--check-finite"])
    off = _parse(ARGV[command])
    assert on.check_finite is True and off.check_finite is False
    assert "train.check_finite=true" in flag_overrides(on)
    assert "train.check_finite=true" not in flag_overrides(off)
    assert load_experiment(None, flag_overrides(on)).train.check_finite is True
    assert load_experiment(None, flag_overrides(off)).train.check_finite is False


@pytest.fixture
def checks(monkeypatch) -> list[list[str]]:
    """Records what the model hands to the check: the names of the tensors it checks on each call."""
    seen: list[list[str]] = []
    real = mmadapt.finite.raise_if_nonfinite

    def record(tensors, hint=""):
        seen.append(list(tensors))
        real(tensors, hint)

    monkeypatch.setattr(mmadapt.finite, "raise_if_nonfinite", record)
    return seen


@pytest.mark.parametrize("flag", [[], ["--check-finite"]])
def test_eval_checks_the_inputs_and_logits_only_with_the_flag(trained, tmp_path, checks, flag):
    argv = [
        "eval",
        "--adapter",
        str(trained.out),
        "--manifest",
        str(trained.workspace.data.test_manifest),
        "--out",
        str(tmp_path / "scores"),
        *flag,
    ]
    assert main(argv) == 0
    if not flag:
        assert checks == []
    else:
        assert sorted(checks[0]) == ["input 'audio'", "input 'video'"] and checks[1] == ["output 'logits'"]


def test_predict_with_the_flag_checks_the_clip(trained, checks, capsys):
    clip = sorted((trained.workspace.data.root / "clips" / "test").glob("*.mp4"))[0]
    assert main(["predict", "--adapter", str(trained.out), str(clip), "--check-finite"]) == 0
    assert ["output 'logits'"] in checks
