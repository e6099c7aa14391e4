"""safe_torch_load, through each of its three callers: every bad file is one line naming it and its kind of damage,
and torch's advice to re-run with ``weights_only=False`` (which would execute the file's code) never appears."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from mmadapt._torch_load import safe_torch_load
from mmadapt.backbones import read_state_dict
from mmadapt.cli import main
from mmadapt.errors import CheckpointError
from mmadapt.recipe.checkpoint import load_checkpoint

STATE = {"w": torch.arange(6.0).reshape(2, 3)}
LEGACY = {"_use_new_zipfile_serialization": False}


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


FILES: dict[str, Callable[[Path], None]] = {
    "empty": lambda p: p.write_bytes(b""),
    "text": lambda p: p.write_text("epoch,loss\n1,0.5\n", encoding="utf-8"),
    "random_bytes": lambda p: p.write_bytes(os.urandom(4096)),
    "zip_cut": lambda p: (torch.save(STATE, p), _cut(p)),
    "legacy_cut": lambda p: (torch.save(STATE, p, **LEGACY), _cut(p)),
    "pickled_object": lambda p: torch.save({"w": STATE["w"], "path": Path("/")}, p),
    "legacy_pickled_object": lambda p: torch.save({"w": STATE["w"], "path": Path("/")}, p, **LEGACY),
}
EXPECTED = {
    "empty": r"is empty \(0 bytes\)",
    "text": r"is not a torch checkpoint file \(no zip archive header.*starts with b'epoch,loss",
    "random_bytes": r"is not a torch checkpoint file \(no zip archive header",
    "zip_cut": r"is truncated or corrupt \(\d+ bytes; RuntimeError: PytorchStreamReader",
    "legacy_cut": r"is truncated or corrupt \(\d+ bytes; ",
    "pickled_object": r"refusing to load .*: it holds pickled objects other than .*\(GLOBAL pathlib\.\w*Path\)",
    "legacy_pickled_object": r"refusing to load .*: it holds pickled objects other than .*\(GLOBAL pathlib\.\w*Path\)",
}
ADVICE = ("weights_only", "re-running", "safe_globals", "trust")


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(CheckpointError) as info:
        call()
    return str(info.value)


def _convert_official(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    argv = ["convert-official", str(path), "--img-size", "160", "--num-classes", "7", "--out", str(path.parent / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not (path.parent / "out").exists()
    return err


CALLERS: dict[str, Callable[[Path, pytest.CaptureFixture[str]], str]] = {
    "recipe_load_checkpoint": lambda path, capsys: _message(lambda: load_checkpoint(path)),
    "backbones_read_state_dict": lambda path, capsys: _message(lambda: read_state_dict(path)),
    "cli_convert_official": _convert_official,
}


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_a_bad_file_is_one_line_naming_it_without_torch_advice(tmp_path, capsys, caller, kind):
    path = tmp_path / "weights.pth"
    FILES[kind](path)
    message = CALLERS[caller](path, capsys)
    assert str(path) in message and "\n" not in message.strip()
    assert re.search(EXPECTED[kind], message), message
    assert not [phrase for phrase in ADVICE if phrase in message.lower()], message


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_both_torch_formats_load(tmp_path, legacy):
    """A legacy (pre-1.6, non-zip) file is a real torch file, never "not a checkpoint"."""
    path = tmp_path / "weights.pth"
    torch.save(STATE, path, **(LEGACY if legacy else {}))
    loaded = safe_torch_load(path, "checkpoint")
    assert loaded.keys() == STATE.keys() and torch.equal(loaded["w"], STATE["w"])
    assert torch.equal(read_state_dict(path)["w"], STATE["w"])


def test_allow_listed_globals_load_and_the_caller_words_the_refusal(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save({"w": STATE["w"], "where": Path("/")}, path)
    with pytest.raises(CheckpointError, match=r"^refusing to load run file .* other than tensors only \(GLOBAL"):
        safe_torch_load(path, "run file", accepted="tensors only")
    assert safe_torch_load(path, "run file", safe_globals=[type(Path("/"))])["where"] == Path("/")


def test_an_unreadable_path_stays_an_os_error(tmp_path):
    with pytest.raises(OSError):
        safe_torch_load(tmp_path, "checkpoint")  # a directory: nothing to call damaged
