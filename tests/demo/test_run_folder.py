"""A demo run folder is self-sufficient: `mmadapt predict` and `mmadapt eval` on it alone reproduce the demo's own
prediction and final UAR, wherever the folder is moved and whatever the working directory (issue 17 item 1)."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import shutil
from pathlib import Path

import pytest

from mmadapt.cli import main

from .test_demo import TINY

# the saved backbones are loaded, never rebuilt at random
pytestmark = pytest.mark.filterwarnings("error:.*RANDOM weights:UserWarning")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`mmadapt demo` at the tiny sizes (``--set`` for the settings without a flag); its stdout and results."""
    out = tmp_path_factory.mktemp("demo") / "demo_out"
    sizes = [f"--set={key}={value}" for key, value in TINY.items() if key not in ("epochs", "n_per_class")]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["demo", "--out", str(out), "--epochs", "1", "--n-per-class", "4", "--no-progress", *sizes]) == 0
    results = json.loads((out / "demo_results.json").read_text())
    assert {key: results["config"][key] for key in TINY} == TINY  # every --set reached the demo
    return {"out": out, "stdout": stdout.getvalue(), **results}


def _predict(adapter: Path, clip: str, json_file: Path) -> dict[str, float]:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["predict", "--adapter", str(adapter), clip, "--json", str(json_file)]) == 0
    return json.loads(json_file.read_text())["predictions"][0]["probabilities"]


def _assert_same_probabilities(got: dict[str, float], want: dict[str, float]) -> None:
    assert list(got) == list(want)
    assert max(abs(got[k] - want[k]) for k in want) <= 1e-6, (got, want)


def test_an_unknown_demo_setting_is_one_line_naming_the_close_field(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "o"), "--set", "pretrain_step=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pretrain_step" in err and "pretrain_steps" in err
    assert not (tmp_path / "o").exists()


def test_run_folder_holds_its_backbones_and_experiment(demo):
    run = demo["out"] / "runs" / "mma-dfer"
    for name in (
        "experiment.yaml",
        "adapter/experiment.yaml",
        "backbones/audio.safetensors",
        "backbones/video.safetensors",
    ):
        assert (run / name).is_file(), name


def test_predict_on_the_demo_run_gives_the_demos_own_probabilities(demo, tmp_path):
    run = demo["out"] / "runs" / "mma-dfer"
    want = demo["prediction"]["probabilities"]
    _assert_same_probabilities(_predict(run, demo["prediction"]["video"], tmp_path / "a.json"), want)
    _assert_same_probabilities(_predict(run / "adapter", demo["prediction"]["video"], tmp_path / "b.json"), want)


def test_the_printed_next_step_is_a_predict_command_that_runs(demo, tmp_path):
    line = next(ln for ln in demo["stdout"].splitlines() if "mmadapt predict" in ln)
    argv = shlex.split(line[line.index("mmadapt predict") :])[1:]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--json", str(tmp_path / "p.json")]) == 0
    got = json.loads((tmp_path / "p.json").read_text())["predictions"][0]["probabilities"]
    _assert_same_probabilities(got, demo["prediction"]["probabilities"])


def test_a_moved_run_folder_still_predicts_from_any_working_directory(demo, tmp_path, monkeypatch):
    run = demo["out"] / "runs" / "mma-dfer"
    clip = tmp_path / "clip.mp4"
    shutil.copy2(demo["prediction"]["video"], clip)
    moved = tmp_path / "elsewhere" / "run"
    shutil.move(run, moved)  # nothing of the demo's folder is left where the experiment first pointed
    try:
        monkeypatch.chdir(tmp_path / "elsewhere")
        _assert_same_probabilities(
            _predict(Path("run"), str(clip), tmp_path / "c.json"), demo["prediction"]["probabilities"]
        )
    finally:
        shutil.move(moved, run)


def test_eval_on_the_demos_test_manifest_reproduces_its_final_uar(demo, tmp_path):
    run = demo["out"] / "runs" / "mma-dfer"
    scores = tmp_path / "scores"
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "eval",
                    "--adapter",
                    str(run),
                    "--manifest",
                    str(demo["out"] / "data" / "test.csv"),
                    "--out",
                    str(scores),
                ]
            )
            == 0
        )
    metrics = json.loads((scores / "metrics.json").read_text())
    assert (metrics["uar"], metrics["war"]) == (demo["metrics"]["mma-dfer"]["uar"], demo["metrics"]["mma-dfer"]["war"])


def test_the_demo_prints_its_prediction_as_a_small_table_not_a_json_list(demo):
    """issue 17 item 7: the prediction was printed as a raw JSON list."""
    lines = demo["stdout"].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("predict "))
    table = lines[start + 1 : start + 4]
    for rank, (line, (name, probability)) in enumerate(zip(table, demo["prediction"]["top"]), start=1):
        assert line.split() == [f"{rank}.", name, f"{probability:.4f}"]
    assert not any(line.lstrip().startswith("[[") for line in lines)


def test_the_last_line_says_what_was_trained_how_well_and_where(demo):
    last = demo["stdout"].rstrip().splitlines()[-1]
    run = demo["out"] / "runs" / "mma-dfer"
    params = json.loads((run / "adapter" / "adapter_config.json").read_text())["num_parameters"]
    m = demo["metrics"]["mma-dfer"]
    assert last.startswith(f"demo: trained mma-dfer adapters ({params:,} trainable parameters)")
    assert f"test UAR {m['uar']:.3f}, WAR {m['war']:.3f}; run folder {run} (" in last
