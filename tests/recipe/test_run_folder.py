"""A run folder belongs to one run: another run's files are refused unless resumed or overwritten, pruning and
``resume='auto'`` see only the run's own checkpoints, and one process at a time trains into a folder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from mmadapt.errors import ConfigError, RunFolderError, RunFolderInUseError
from mmadapt.recipe import TrainConfig, load_checkpoint, train
from mmadapt.recipe.run_folder import HOLDER_FILE, LOCK_FILE, RUN_FILE, claim_run_folder, inspect_run_folder

from .recipe_standin import ClipSet, make_model
from .test_recipe_resume import _Crash


def _cfg(out_dir, **kw) -> TrainConfig:
    base = dict(
        epochs=2,
        batch_size=4,
        num_workers=0,
        device="cpu",
        out_dir=str(out_dir),
        log_every=1,
        lr=1e-2,
        keep_checkpoints=1,
        progress=False,
    )
    return TrainConfig(**{**base, **kw})


def _train(out_dir, seed=0, callbacks=(), **kw):
    return train(make_model(seed), ClipSet(8), ClipSet(3, seed=1), _cfg(out_dir, **kw), callbacks=list(callbacks))


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _checkpoints(folder):
    return sorted(p.name for p in (folder / "checkpoints").glob("epoch_*.pt"))


def test_every_checkpoint_and_the_summary_carry_the_run_id(tmp_path):
    result = _train(tmp_path, keep_checkpoints=5)
    run_id = json.loads((tmp_path / RUN_FILE).read_text())["run_id"]
    assert result.summary["run_id"] == run_id
    assert json.loads((tmp_path / "summary.json").read_text())["run_id"] == run_id
    assert [load_checkpoint(p).run_id for p in sorted((tmp_path / "checkpoints").iterdir())] == [run_id, run_id]


_CLAIM = textwrap.dedent(
    """
    import sys
    from mmadapt.errors import RunFolderInUseError
    from mmadapt.recipe.run_folder import claim_run_folder
    try:
        with claim_run_folder(sys.argv[1], resume="auto"):
            print("claimed")
    except RunFolderInUseError:
        print("in use")
    """
)


def test_a_finished_run_leaves_no_lock_files_and_the_next_claim_locks_afresh(tmp_path):
    _train(tmp_path)
    assert not (tmp_path / LOCK_FILE).exists() and not (tmp_path / HOLDER_FILE).exists()
    with claim_run_folder(tmp_path, resume="auto") as claim:
        assert (tmp_path / LOCK_FILE).exists()  # held while the claim lasts
        other = subprocess.run(
            [sys.executable, "-c", _CLAIM, str(tmp_path)], capture_output=True, text=True, timeout=120
        )
        assert other.stdout.strip() == "in use"  # another process is still refused while it is held
    assert claim.run_id and not (tmp_path / LOCK_FILE).exists()


def test_a_new_run_into_another_runs_folder_is_refused_and_changes_nothing(tmp_path):
    """The issue's case: a 3-epoch run into a folder holding a 5-epoch run's epoch_0005.pt."""
    _train(tmp_path, epochs=5)
    before = _snapshot(tmp_path)
    old_id = json.loads((tmp_path / RUN_FILE).read_text())["run_id"]
    with pytest.raises(RunFolderError, match=rf"holds run {old_id}.*epoch_0005.pt.*--resume auto.*--overwrite"):
        _train(tmp_path, epochs=3)
    assert _snapshot(tmp_path) == before


def test_overwrite_replaces_the_old_run_and_keeps_the_new_runs_checkpoints(tmp_path):
    _train(tmp_path, epochs=5)
    old_id = json.loads((tmp_path / RUN_FILE).read_text())["run_id"]
    result = _train(tmp_path, epochs=3, overwrite=True)
    marker = json.loads((tmp_path / RUN_FILE).read_text())
    assert marker["run_id"] == result.summary["run_id"] != old_id
    assert [e["event"] for e in marker["history"]] == ["overwrote"]
    assert _checkpoints(tmp_path) == ["epoch_0003.pt"]  # the old epoch_0005.pt is gone, the new one kept
    assert result.epochs_completed == 3


def test_resume_auto_continues_the_folders_own_run(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, epochs=3, callbacks=[_Crash(at_step=5)])  # 2 steps per epoch: dies in epoch 3
    run_id = json.loads((tmp_path / RUN_FILE).read_text())["run_id"]
    result = _train(tmp_path, epochs=3, resume="auto")
    assert result.summary["run_id"] == run_id and result.summary["resumed_from"].endswith("epoch_0002.pt")
    marker = json.loads((tmp_path / RUN_FILE).read_text())
    assert [e["event"] for e in marker["history"]] == ["new", "resumed"]


def test_another_runs_checkpoint_is_neither_resumed_from_nor_pruned(tmp_path):
    _train(tmp_path / "b", epochs=5)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "a", epochs=3, callbacks=[_Crash(at_step=3)])  # checkpoint epoch_0001, dies in epoch 2
    stranger = tmp_path / "a" / "checkpoints" / "epoch_0005.pt"
    shutil.copy2(tmp_path / "b" / "checkpoints" / "epoch_0005.pt", stranger)
    result = _train(tmp_path / "a", epochs=3, resume="auto")
    assert result.summary["resumed_from"].endswith("epoch_0001.pt")
    assert _checkpoints(tmp_path / "a") == ["epoch_0003.pt", "epoch_0005.pt"]  # its own pruned to 1, B's left alone
    assert stranger.exists()


def test_resume_from_another_runs_checkpoint_is_refused(tmp_path):
    _train(tmp_path / "b", epochs=2)
    _train(tmp_path / "a", epochs=2)
    foreign = tmp_path / "b" / "checkpoints" / "epoch_0002.pt"
    with pytest.raises(RunFolderError, match="continues run .* but .* holds run"):
        _train(tmp_path / "a", epochs=3, resume=str(foreign))


def test_resume_from_a_checkpoint_into_a_fresh_folder_continues_that_run(tmp_path):
    _train(tmp_path / "b", epochs=2)
    source = tmp_path / "b" / "checkpoints" / "epoch_0002.pt"
    with pytest.warns(UserWarning, match="metrics.jsonl is shorter"):  # its log stayed in b
        result = _train(tmp_path / "c", epochs=3, resume=str(source))
    assert result.summary["run_id"] == load_checkpoint(source).run_id


def test_a_folder_from_before_run_ids_is_adopted_with_a_warning_when_resumed(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, epochs=3, callbacks=[_Crash(at_step=3)])
    (tmp_path / RUN_FILE).unlink()
    legacy = tmp_path / "checkpoints" / "epoch_0001.pt"
    payload = torch.load(legacy, weights_only=True)
    del payload["run_id"]
    torch.save(payload, legacy)
    with pytest.warns(UserWarning, match="older mmadapt"):
        result = _train(tmp_path, epochs=3, resume="auto")
    assert result.summary["resumed_from"].endswith("epoch_0001.pt")
    assert _checkpoints(tmp_path) == ["epoch_0003.pt"]  # the legacy checkpoint counted as the run's: pruned


def test_a_damaged_run_file_is_named(tmp_path):
    _train(tmp_path)
    (tmp_path / RUN_FILE).write_text("{not json")
    with pytest.raises(RunFolderError, match=r"run\.json is damaged.*--overwrite"):
        _train(tmp_path, resume="auto")


def test_a_run_that_fails_before_writing_leaves_no_folder(tmp_path):
    frozen = make_model(0)
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(frozen, ClipSet(8), None, _cfg(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_overwrite_and_resume_together_are_refused():
    with pytest.raises(ConfigError, match="overwrite.*resume='auto'.*give one"):
        TrainConfig(overwrite=True, resume="auto")


def test_a_process_gets_its_own_claim_back_instead_of_a_deadlock(tmp_path):
    with claim_run_folder(tmp_path) as outer, claim_run_folder(tmp_path, resume="auto") as inner:
        assert inner is outer
    assert not (tmp_path / HOLDER_FILE).exists()


def test_other_ranks_read_the_run_id_rank_0_wrote(tmp_path):
    with pytest.raises(RunFolderError, match="rank 0 has not claimed"):
        with claim_run_folder(tmp_path, main=False):
            pass
    with claim_run_folder(tmp_path) as claim, claim_run_folder(tmp_path, main=False) as other:
        assert other.run_id == claim.run_id


def test_inspect_decides_without_writing(tmp_path):
    _train(tmp_path)
    before = _snapshot(tmp_path)
    assert inspect_run_folder(tmp_path, overwrite=True).start == "overwrote"
    assert inspect_run_folder(tmp_path, resume="auto").start == "resumed"
    assert _snapshot(tmp_path) == before


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
def test_a_second_training_fails_at_once_naming_the_holder_and_a_killed_holders_lock_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        tick = time.perf_counter()
        with pytest.raises(RunFolderInUseError, match=rf"in use by another training \(pid {holder.pid} on "):
            _train(tmp_path)
        assert time.perf_counter() - tick < 5  # at once, not after a wait
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert (tmp_path / HOLDER_FILE).exists()  # the killed holder could not clean up
        result = _train(tmp_path)  # its lock is stale: taken over
        assert result.epochs_completed == 2 and not (tmp_path / HOLDER_FILE).exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_run_that_failed_before_its_first_step_does_not_block_a_rerun(tmp_path):
    """Its empty metrics.jsonl is not an output worth an --overwrite (found by a new-user review)."""
    (tmp_path / "metrics.jsonl").write_bytes(b"")
    (tmp_path / RUN_FILE).write_text(json.dumps({"run_id": "abc", "history": []}))
    assert _train(tmp_path).epochs_completed == 2
