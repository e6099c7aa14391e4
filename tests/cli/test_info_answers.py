"""`mmadapt info` without SPEC remembers its answer per code and package versions: a repeat imports no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmadapt.cli import _answers, build_parser, main
from mmadapt.cli.info import PAIR_ARGUMENTS

PROBE = (
    "import sys; from mmadapt.cli import main; rc = main(sys.argv[1:]); "
    "print('torch imported:', 'torch' in sys.modules)"
)


def _cli(cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMADAPT_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=300, env=env, check=True
    )


def _key(*argv: str) -> str:
    args = build_parser().parse_args(["info", *argv])
    return _answers.answer_key("info", {a: getattr(args, a) for a in PAIR_ARGUMENTS})


def test_a_repeated_question_is_answered_without_torch_and_says_the_same(tmp_path):
    first = _cli(tmp_path, "info", "--presets")
    second = _cli(tmp_path, "info", "--presets")
    assert first.stdout.endswith("torch imported: True\n")
    assert second.stdout.endswith("torch imported: False\n")
    assert first.stdout.replace("True", "") == second.stdout.replace("False", "")
    assert "mma-dfer-fusion-mbt" in second.stdout


def test_the_cache_is_read_and_no_cache_bypasses_it(tmp_path, monkeypatch):
    planted = "an answer only the cache knows\n"
    monkeypatch.setenv("MMADAPT_CACHE_DIR", str(tmp_path))
    _answers.write_answer(_key("--preset", "mma-dfer-no-fusion"), planted)
    assert _cli(tmp_path, "info", "--preset", "mma-dfer-no-fusion").stdout.startswith(planted)
    fresh = _cli(tmp_path, "info", "--preset", "mma-dfer-no-fusion", "--no-cache").stdout
    assert planted not in fresh and fresh.startswith("preset mma-dfer-no-fusion:")
    assert _cli(tmp_path, "info", "--preset", "mma-dfer").stdout.startswith("preset mma-dfer:")  # another key


@pytest.mark.parametrize(
    "argv, other",
    [
        (["--preset", "mma-dfer"], ["--preset", "mma-dfer-no-fusion"]),
        (["--img-size", "160"], ["--img-size", "112"]),
        (["--presets"], []),
        (["--num-classes", "7"], ["--num-classes", "6"]),
    ],
)
def test_the_key_changes_with_every_argument_the_table_reads(argv, other):
    assert _key(*argv) == _key(*argv)
    assert _key(*argv) != _key(*other)


def test_the_key_changes_when_a_source_file_or_a_package_version_changes(tmp_path, monkeypatch):
    source = tmp_path / "pkg" / "model.py"
    source.parent.mkdir()
    source.write_text("x = 1\n")
    key = _answers.answer_key("info", {"preset": "p"}, root=source.parent)
    assert _answers.answer_key("info", {"preset": "p"}, root=source.parent) == key
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
    touched = _answers.answer_key("info", {"preset": "p"}, root=source.parent)
    assert touched != key
    (source.parent / "__pycache__").mkdir()
    (source.parent / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")  # byte code is not source
    assert _answers.answer_key("info", {"preset": "p"}, root=source.parent) == touched
    monkeypatch.setattr(_answers, "_version", lambda package: "0.0" if package == "timm" else "1.0")
    assert _answers.answer_key("info", {"preset": "p"}, root=source.parent) != touched


def test_a_process_with_torch_loaded_computes_afresh_and_stores_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MMADAPT_CACHE_DIR", str(tmp_path))
    assert "torch" in sys.modules and not _answers.usable()
    assert main(["info", "--preset", "mma-dfer-no-fusion"]) == 0
    assert capsys.readouterr().out.startswith("preset mma-dfer-no-fusion:")
    assert not (tmp_path / "answers").exists()


def test_an_unwritable_cache_is_skipped_silently(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    done = _cli(blocker, "info", "--preset", "mma-dfer-no-temporal")
    assert done.stdout.startswith("preset mma-dfer-no-temporal:") and done.stderr == ""


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MMADAPT_CACHE_DIR", str(tmp_path / "a"))
    assert _answers.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("MMADAPT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _answers.cache_dir() == tmp_path / "xdg" / "mmadapt"
