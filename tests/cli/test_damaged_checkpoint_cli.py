"""`mmadapt train --resume` on a damaged checkpoint: one line naming the file and the damage, no traceback."""

from __future__ import annotations

import pytest

from mmadapt.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def test_an_explicit_damaged_checkpoint_is_one_line_naming_it(workspace, tmp_path, capsys):
    out = tmp_path / "run"
    ckpt = tmp_path / "epoch_0001.pt"
    ckpt.write_bytes(b"not a checkpoint")
    argv = ["train", "--config", str(workspace.config), "train.max_steps=2", "--out", str(out)]
    assert main([*argv, "--resume", str(ckpt)]) != 0
    err = capsys.readouterr().err.strip()
    assert str(ckpt) in err and "not a torch checkpoint file" in err
    assert "\n" not in err and "Traceback" not in err and "weights_only" not in err
