"""`mmadapt train` with a learning rate that makes training diverge fails with exit 1 and one line naming the
step, instead of exiting 0 with a NaN adapter (issue 13 item 2)."""

from __future__ import annotations

import contextlib
import io
import warnings

import pytest
import torch

from mmadapt.cli import main
from mmadapt.recipe.checkpoint import load_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def test_a_diverging_run_exits_1_without_writing_an_adapter(workspace, tmp_path, capsys):
    out = tmp_path / "run"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", UserWarning)
        code = main(["train", "--config", str(workspace.config), "train.lr=1e3", "train.epochs=3", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("mmadapt train: error: training stopped at epoch ")
    assert ", step " in err[-1] and "max_nonfinite_steps=0" in err[-1]
    assert not (out / "adapter").exists() and not (out / "summary.json").exists()  # nothing after the stop
    assert "null" not in (out / "metrics.jsonl").read_text()
    for path in (out / "checkpoints").glob("*.pt"):  # whatever checkpoint is left holds finite weights
        assert all(torch.isfinite(v).all() for v in load_checkpoint(path).adapter.values()), path
