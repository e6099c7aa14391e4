"""What `mmadapt train` prints outside a terminal: a line per epoch, then the results; `-q` keeps only the results."""

from __future__ import annotations

import pytest

from mmadapt.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def test_train_prints_a_line_per_epoch_then_the_result(workspace, tmp_path, capsys):
    assert main(["train", "--config", str(workspace.config), "train.epochs=2", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in out[:2]] == ["epoch 1/2", "epoch 2/2"]
    assert all(" clips/s" in line and "val UAR" in line for line in out[:2])
    assert out[2].startswith("final (epoch 2) val UAR") and out[-1].startswith("adapter: ")


def test_quiet_prints_only_the_result(workspace, tmp_path, capsys):
    assert main(["train", "-q", "--config", str(workspace.config), "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("epoch ") for line in out) and out[-1].startswith("adapter: ")
