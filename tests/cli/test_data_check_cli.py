"""`mmadapt train` / `eval` check every clip, label and the class count before any backbone is built (issue 17
item 4): all problems in one line, exit 2, nothing written."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from mmadapt.cli import main
from mmadapt.errors import ConfigError
from mmadapt.recipe.data_check import check_experiment_data
from mmadapt.recipe.experiment import ExperimentConfig

from ..data._media import write_mp4

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


@pytest.fixture
def no_model(monkeypatch):
    """Building the model (or its backbones) ends the command at once with a recognisable error."""
    import mmadapt.cli._common as common
    import mmadapt.recipe.experiment as experiment

    def reached(*args, **kwargs):
        raise ConfigError("reached the model")

    monkeypatch.setattr(experiment, "build_model", reached)
    monkeypatch.setattr(experiment, "build_backbones", reached)
    monkeypatch.setattr(common, "load_trained_model", reached)


def _manifest(path: Path, data, extra: list[str]) -> Path:
    """The training manifest with absolute clip paths, plus ``extra`` rows."""
    header, *rows = data.train_manifest.read_text().splitlines()
    rows = [f"{data.root / video},{label}" for video, label in (r.rsplit(",", 1) for r in rows)]
    path.write_text("\n".join([header, *rows, *extra]) + "\n")
    return path


def _train(workspace, tmp_path, *overrides: str) -> int:
    return main(
        ["train", "--config", str(workspace.config), "data.source.val=null", *overrides, "--out", str(tmp_path / "run")]
    )


def test_every_bad_clip_is_listed_in_one_line_before_any_model_is_built(workspace, tmp_path, no_model, capsys):
    (tmp_path / "notes.mp4").write_text("not a video\n")
    bad = _manifest(
        tmp_path / "bad.csv",
        workspace.data,
        [
            f"{tmp_path / 'missing.mp4'},0",
            f"{tmp_path / 'notes.mp4'},1",
            f"{workspace.data.root / 'clips/train/anger_0000.mp4'},happy",
        ],
    )
    assert _train(workspace, tmp_path, f"data.source.train={bad}") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "reached the model" not in err
    assert "data check: 3 problems in 9 clips: " in err
    assert "bad.csv:8: video missing.mp4: file not found" in err  # as the manifest names it
    assert "bad.csv:9: video notes.mp4: is not a media container" in err
    assert "bad.csv:10: unknown class name 'happy'" in err
    assert not (tmp_path / "run").exists()  # nothing written


def test_a_long_list_is_cut_after_the_first_five(workspace, tmp_path, no_model, capsys):
    bad = _manifest(tmp_path / "bad.csv", workspace.data, [f"gone_{i}.mp4,0" for i in range(7)])
    assert _train(workspace, tmp_path, f"data.source.train={bad}") == 2
    err = capsys.readouterr().err
    assert "7 problems in 13 clips" in err and "gone_4.mp4" in err and "gone_5.mp4" not in err
    assert err.rstrip().endswith("; and 2 more")


def test_a_class_count_that_contradicts_the_class_names_is_found_first(workspace, tmp_path, no_model, capsys):
    assert _train(workspace, tmp_path, "model.num_classes=4") == 2
    err = capsys.readouterr().err
    assert "data check: 1 problem in 6 clips: model.num_classes=4 but data.source.class_names names 6 classes" in err


def test_a_video_without_sound_needs_zeros_and_the_message_says_how(workspace, tmp_path, no_model, capsys):
    silent = write_mp4(tmp_path / "silent.mp4", np.zeros((8, 32, 32, 3), np.uint8), fps=8)
    manifest = _manifest(tmp_path / "m.csv", workspace.data, [f"{silent},0"])
    assert _train(workspace, tmp_path, f"data.source.train={manifest}") == 2
    err = capsys.readouterr().err
    assert "silent.mp4: has no audio stream" in err and "data.missing_audio=zeros (or --missing-audio zeros)" in err
    assert _train(workspace, tmp_path, f"data.source.train={manifest}", "--missing-audio", "zeros") == 2
    assert "reached the model" in capsys.readouterr().err  # the check passed


def test_skip_data_check_goes_straight_to_the_model(workspace, tmp_path, no_model, capsys):
    bad = _manifest(tmp_path / "bad.csv", workspace.data, [f"{tmp_path / 'missing.mp4'},0"])
    assert _train(workspace, tmp_path, f"data.source.train={bad}", "--skip-data-check") == 2
    assert "reached the model" in capsys.readouterr().err


def test_eval_checks_its_clips_against_the_adapter_before_loading_it(trained, tmp_path, no_model, capsys):
    bad = _manifest(tmp_path / "bad.csv", trained.workspace.data, [f"{tmp_path / 'missing.mp4'},0", "x.mp4,7"])
    assert main(["eval", "--adapter", str(trained.out), "--manifest", str(bad), "--out", str(tmp_path / "ev")]) == 2
    err = capsys.readouterr().err
    assert "2 problems in 8 clips" in err and "missing.mp4: file not found" in err
    assert "bad.csv:9: label 7 outside [0, 6)" in err and "reached the model" not in err


def test_an_unset_class_count_is_inferred_from_the_labels(workspace, caplog):
    cfg = ExperimentConfig.load(workspace.config, ["data.source.class_names=null"])
    assert cfg.model.num_classes is None
    with caplog.at_level(logging.WARNING):
        checked = check_experiment_data(cfg, [cfg.data.source.train])
    assert checked.model.num_classes == 6  # labels 0..5 of train.csv
    assert "6 classes inferred from the labels of train.csv" in caplog.text
