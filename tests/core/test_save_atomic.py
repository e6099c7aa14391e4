"""``save_adapter`` replaces the adapter as one unit: whatever fails or is killed mid-save, the folder loads as the
previous adapter or the new one, never a mix; leftovers of a crashed save go at the next save; other files stay."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import mmadapt
import mmadapt.checkpoint as checkpoint
from mmadapt.model_card import MODEL_CARD_NAME

from .helpers import clone, make_inputs, make_pair, randomise_gates, wrap
from .save_loop_child import AUDIO_SIZE, HEAD, VIDEO_SIZE, tiny_pair

PENDING_NAME = ".mmadapt-save.pending"
"""Where a committed but unfinished save keeps the files it has not moved into place yet (documented contract)."""
ADAPTER_FILES = sorted([checkpoint.CONFIG_NAME, checkpoint.WEIGHTS_NAME, MODEL_CARD_NAME])


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _half_written_weights(path, writer):
    """A writer that dies with ENOSPC after writing half of the bytes to the path it was given."""

    class Half:
        def __init__(self) -> None:
            self.data = b""

        def write(self, data: bytes) -> None:
            self.data += data

    buf = Half()
    writer(buf)
    Path(path).write_bytes(buf.data[: len(buf.data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def setup(tmp_path):
    """A good adapter (latent_dim 128) saved in ``tmp_path/adapter``, pristine backbones, inputs and its logits."""
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    pristine = (clone(audio), clone(video))
    old = wrap(audio, video)
    randomise_gates(old, seed=1)
    target = old.save_adapter(tmp_path / "adapter")
    video_x, audio_x = make_inputs(a_shape, v_shape)
    with torch.no_grad():
        old_logits = old(audio=audio_x, video=video_x)
    new = wrap(clone(pristine[0]), clone(pristine[1]), fusion={"latent_dim": 16})
    randomise_gates(new, seed=2)
    return target, pristine, (audio_x, video_x), old_logits, new


def _logits_from(target, pristine, inputs) -> torch.Tensor:
    model = mmadapt.MultimodalAdapterModel.from_pretrained(target, clone(pristine[0]), clone(pristine[1])).eval()
    with torch.no_grad():
        return model(audio=inputs[0], video=inputs[1])


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(("write_json", _disk_full), id="config-writer-disk-full"),
        pytest.param(("atomic_write", _half_written_weights), id="weights-half-written-disk-full"),
    ],
)
def test_a_failed_save_keeps_the_previous_adapter(setup, monkeypatch, patch):
    target, pristine, inputs, old_logits, new = setup
    name, fault = patch
    with monkeypatch.context() as m:
        m.setattr(checkpoint, name, fault)
        with pytest.raises(OSError, match="No space left"):
            new.save_adapter(target)
    assert torch.equal(_logits_from(target, pristine, inputs), old_logits)
    # the next successful save replaces it and leaves nothing behind
    new.save_adapter(target)
    assert _listing(target) == ADAPTER_FILES
    with torch.no_grad():
        assert torch.equal(_logits_from(target, pristine, inputs), new(audio=inputs[0], video=inputs[1]))


def test_leftovers_of_killed_saves_are_removed_by_the_next_save(setup):
    target, pristine, inputs, _, new = setup
    # what a kill -9 leaves: a staging folder of this writer, and a temp file of the writer before it
    stage = target / ".mmadapt-save.tmp-0123abcd"
    stage.mkdir()
    (stage / checkpoint.WEIGHTS_NAME).write_bytes(b"\0" * 1000)
    (target / f".{checkpoint.WEIGHTS_NAME}.k2j4h1.tmp").write_bytes(b"\0" * 1000)
    new.save_adapter(target)
    assert _listing(target) == ADAPTER_FILES


def test_a_save_interrupted_after_its_commit_loads_as_the_new_adapter(setup, monkeypatch):
    """Between the commit (the staged folder renamed to the pending name) and the last file moved into place the
    loader takes each file from the pending folder when it is still there: the new adapter, whole."""
    target, pristine, inputs, _, new = setup
    real_replace = os.replace

    def crash_moving_the_config(src, dst):
        if Path(src).parent.name == PENDING_NAME and Path(src).name == checkpoint.CONFIG_NAME:
            raise OSError(errno.EIO, "Input/output error")
        return real_replace(src, dst)

    with monkeypatch.context() as m:
        m.setattr(os, "replace", crash_moving_the_config)
        with pytest.raises(OSError, match="Input/output"):
            new.save_adapter(target)
    assert (target / PENDING_NAME / checkpoint.CONFIG_NAME).is_file()  # the new weights are in place already
    with torch.no_grad():
        new_logits = new(audio=inputs[0], video=inputs[1])
    assert torch.equal(_logits_from(target, pristine, inputs), new_logits)
    new.save_adapter(target)  # completes the interrupted one first, then saves
    assert _listing(target) == ADAPTER_FILES
    assert torch.equal(_logits_from(target, pristine, inputs), new_logits)


def test_other_files_in_the_folder_are_kept(setup, monkeypatch):
    """Only the adapter's own files are replaced: a folder shared with other files (a converted model's backbones,
    notes) keeps them through good and failed saves."""
    target, pristine, inputs, _, new = setup
    (target / "notes.txt").write_text("mine")
    (target / "runs").mkdir()
    (target / "runs" / "log.txt").write_text("also mine")
    with monkeypatch.context() as m:
        m.setattr(checkpoint, "write_json", _disk_full)
        with pytest.raises(OSError):
            new.save_adapter(target)
    new.save_adapter(target)
    assert _listing(target) == sorted([*ADAPTER_FILES, "notes.txt", "runs"])
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "runs" / "log.txt").read_text() == "also mine"


# ---- a real kill -9 loop ------------------------------------------------------------------------------------
KILLS = 24


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the save loop forks its workers")
def test_kill_9_during_a_save_loop_always_leaves_a_loadable_adapter(tmp_path):
    """A worker saves A (latent_dim 16) and B (latent_dim 8) alternately into one folder; after each of 24 kills at
    random moments the folder loads as A or B (bit-identical logits), and one more save leaves only its files."""
    pristine = tiny_pair()
    g = torch.Generator().manual_seed(0)
    inputs = (torch.randn(2, 1, *AUDIO_SIZE, generator=g), torch.randn(2, 3, 3, *VIDEO_SIZE, generator=g))
    refs, expected = [], []
    for i, latent in enumerate((16, 8)):
        model = mmadapt.wrap_encoders(
            *map(clone, pristine), preset="mma-dfer", num_classes=5, head=HEAD, fusion={"latent_dim": latent}
        ).eval()
        randomise_gates(model, seed=i)
        refs.append(model.save_adapter(tmp_path / f"ref_{i}"))
        expected.append(_logits_from(refs[-1], pristine, inputs))
    target = refs[0].parent / "target"
    mmadapt.MultimodalAdapterModel.from_pretrained(refs[0], *map(clone, pristine)).save_adapter(target)

    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("save_loop_child.py")), *map(str, refs), str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    rng = random.Random(0)
    seen = set()
    try:
        assert child.stdout.readline().strip() == "ready", "the save loop did not start"
        for kill in range(KILLS):
            child.stdin.write("go\n")
            child.stdin.flush()
            worker = int(child.stdout.readline())
            time.sleep(rng.uniform(0.02, 0.25))
            os.kill(worker, signal.SIGKILL)
            assert child.stdout.readline().strip() == "dead"  # reaped: nothing writes while we load
            logits = _logits_from(target, pristine, inputs)
            match = [i for i, e in enumerate(expected) if torch.equal(logits, e)]
            assert match, f"kill {kill}: the folder loads as neither A nor B"
            seen.update(match)
    finally:
        child.kill()
        child.wait()
    assert seen == {0, 1}, "the kills never landed after a completed save of each adapter"
    mmadapt.MultimodalAdapterModel.from_pretrained(refs[1], *map(clone, pristine)).save_adapter(target)
    assert _listing(target) == ADAPTER_FILES
