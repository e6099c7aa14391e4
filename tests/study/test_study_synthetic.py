"""A tiny real study on the demo's scene: every cell sees the very weights of OUT/backbones, a rerun of the
command resumes without training, parse errors are one line, and ``--workers 2`` reproduces ``--workers 1``."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from mmadapt.cli import main
from mmadapt.demo.config import DemoConfig
from mmadapt.study import StudyConfig, run_study
from mmadapt.study.cell import weights_digest
from mmadapt.study.grid import grid

from ..demo.test_demo import TINY as DEMO_TINY

TINY = {k: v for k, v in DEMO_TINY.items() if k != "epochs"}  # the demo tests' sizes; a study sets epochs
PRESETS = ("mma-dfer", "mma-dfer-no-fusion")


def tiny_study(out, workers: int = 1) -> StudyConfig:
    return StudyConfig(
        out_dir=str(out),
        presets=PRESETS,
        seeds=(0, 1),
        synthetic="expressions",
        epochs=1,
        workers=workers,
        threads=1,
        demo=DemoConfig(**TINY),
    )


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "serial"
    return run_study(tiny_study(out), progress=False)


def _records(out):
    records = {}
    for cell in grid(tiny_study(out)):
        record = json.loads(cell.result_file(out).read_text())
        record.pop("seconds")
        records[cell] = record
    return records


def test_every_cell_sees_the_saved_backbones(serial):
    out = serial.out_dir
    saved = {s: weights_digest(load_file(out / "backbones" / f"{s}.safetensors")) for s in ("audio", "video")}
    records = _records(out)
    assert len(records) == 4
    assert all(r["backbones"] == saved for r in records.values())  # after training, adapters detached
    assert serial.summary["backbones"] == saved
    assert {r["loss"] for r in records.values()}.__len__() == 4  # the cells did train differently
    md = (out / "study.md").read_text()
    assert "| mma-dfer-no-fusion | 2 |" in md and (out / "study.png").stat().st_size > 0


def test_the_command_resumes_a_finished_study(serial, capsys):
    before = (serial.out_dir / "backbones" / "audio.safetensors").stat().st_mtime_ns
    demo = [f"--demo={k}={v}" for k, v in TINY.items()]
    argv = ["study", "--presets", ",".join(PRESETS), "--seeds", "0-1", "--synthetic", "expressions", "--epochs", "1"]
    assert main([*argv, *demo, "--threads", "1", "--out", str(serial.out_dir), "-q"]) == 0
    out = capsys.readouterr().out
    assert "mma-dfer-no-fusion" in out and "4 cells" in out
    assert (serial.out_dir / "backbones" / "audio.safetensors").stat().st_mtime_ns == before  # not pretrained again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--presets", "nope*", "--synthetic", "expressions"], "'nope*' matches no registered preset"),
        (["--presets", "mma-dfr", "--synthetic", "expressions"], "did you mean"),
        (["--presets", "mma-dfer", "--seeds", "3-1", "--synthetic", "expressions"], "runs backwards"),
        (["--presets", "mma-dfer", "--seeds", "x", "--synthetic", "expressions"], "'x' is not a seed"),
        (["--presets", "mma-dfer", "--reference", "mma-dfer", "--synthetic", "expressions"], "at least two"),
        (["--presets", "mma-dfer", "--data", "a.csv", "--synthetic", "expressions"], "needs --config"),
        (["--presets", "mma-dfer", "--demo", "widht=3", "--synthetic", "expressions"], "width"),
        (["--presets", "mma-dfer", "--workers", "0", "--synthetic", "expressions"], "--workers must be >= 1, got 0"),
        (["--presets", "mma-dfer", "--threads", "0", "--synthetic", "expressions"], "--threads must be >= 1"),
        (["--presets", "mma-dfer", "--seeds", "0,0", "--synthetic", "expressions"], "a seed is given twice"),
    ],
)
def test_parse_errors_are_one_line(tmp_path, capsys, args, message):
    assert main(["study", *args, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mmadapt study: error:") and message in err
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_two_workers_give_the_same_results(serial, tmp_path):
    parallel = run_study(tiny_study(tmp_path / "parallel", workers=2), progress=False)
    assert _records(parallel.out_dir) == _records(serial.out_dir)
