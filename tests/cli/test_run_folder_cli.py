"""`mmadapt train --out` on a folder that holds another run, one that another process trains into, and `--resume`
with changed settings: one line, exit 2, and the folder as it was (issue 13 items 3-5)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest

from mmadapt.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def _argv(workspace, out, *extra):
    return ["train", "--config", str(workspace.config), "--out", str(out), *extra]


def _one_line_error(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_training_into_another_runs_folder_is_refused_before_anything_is_written(trained, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(trained.out, out)
    before = _files(out)
    err = _one_line_error(_argv(trained.workspace, out, "train.max_steps=1"), capsys)
    assert f"{out} holds run" in err and "--resume auto" in err and "--overwrite" in err
    assert _files(out) == before  # experiment.yaml included: the refusal came first


def test_overwrite_starts_a_new_run_there(trained, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(trained.out, out)
    old = json.loads((out / "run.json").read_text())["run_id"]
    assert main(_argv(trained.workspace, out, "train.max_steps=1", "--overwrite")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run_id"] == json.loads((out / "run.json").read_text())["run_id"] != old
    assert summary["global_step"] == 1


def test_resume_with_a_changed_batch_size_is_refused_naming_the_change(workspace, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_argv(workspace, out)) == 0  # one full epoch: a checkpoint
    capsys.readouterr()
    err = _one_line_error(_argv(workspace, out, "train.epochs=2", "train.batch_size=4", "--resume", "auto"), capsys)
    assert "batch_size: 2 -> 4" in err and "epoch_0001.pt" in err
    assert main(_argv(workspace, out, "train.epochs=2", "--resume", "auto")) == 0  # epochs may grow
    assert json.loads((out / "summary.json").read_text())["resume_changes"] == {"epochs": [1, 2]}


def test_resuming_a_finished_run_says_there_is_nothing_left_to_train(workspace, tmp_path, caplog):
    out = tmp_path / "run"
    assert main(_argv(workspace, out)) == 0
    caplog.clear()
    assert main(_argv(workspace, out, "--resume", "auto")) == 0
    said = f"{out} already finished its 1 epochs: nothing left to train (pass train.epochs=2 or more to continue it)"
    assert said in [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from mmadapt.recipe.run_folder import claim_run_folder
    with claim_run_folder(sys.argv[1]):
        print("holding", flush=True)
        time.sleep(120)
    """
)


@pytest.mark.slow
def test_a_second_training_into_a_busy_folder_fails_at_once_naming_the_holders_pid(workspace, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        err = _one_line_error(_argv(workspace, out, "train.max_steps=1"), capsys)
        assert f"is in use by another training (pid {holder.pid} on" in err
        assert not (out / "experiment.yaml").exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
