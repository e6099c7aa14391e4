"""Claiming and resuming a study folder, without training: a bad source writes nothing, a resume is refused exactly
when a setting that decides the numbers changed (and the refusal names it), and a real-data study resumes however
its experiment's path is spelled."""

from __future__ import annotations

import pytest

from mmadapt.cli import main
from mmadapt.demo.config import DemoConfig
from mmadapt.errors import ConfigError
from mmadapt.study import StudyConfig
from mmadapt.study.runner import _prepare_experiment, open_study_folder, source_experiment

PRESETS = ("mma-dfer", "mma-dfer-no-fusion")


def _claim(study: StudyConfig) -> bool:
    """What ``run_study`` does before it trains (the synthetic scene's preparation aside)."""
    source = source_experiment(study)
    resumed = open_study_folder(study, experiment=source)
    if source is not None:
        _prepare_experiment(study, source)
    return resumed


def _synthetic(out, epochs: int | None = None, **demo) -> StudyConfig:
    return StudyConfig(
        out_dir=str(out), presets=PRESETS, synthetic="expressions", epochs=epochs, demo=DemoConfig(**demo)
    )


@pytest.fixture
def experiment(tmp_path):
    """A loadable experiment whose training and validation manifests exist (no clips: nothing here trains)."""
    folder = tmp_path / "exp"
    folder.mkdir()
    for split in ("train", "val"):
        (folder / f"{split}.csv").write_text("video,label\n", encoding="utf-8")
    path = folder / "exp.yaml"
    path.write_text("data:\n  source:\n    train: train.csv\n    val: val.csv\ntrain:\n  batch_size: 2\n")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic", "nope"], "unknown scene 'nope'"),
        (["--config", "{tmp}/missing.yaml"], "experiment config not found"),
        (["--config", "{exp}", "--data", "{tmp}/missing.csv"], "--data"),
    ],
)
def test_a_bad_source_is_one_line_and_writes_nothing(tmp_path, experiment, capsys, args, message):
    args = [a.format(tmp=tmp_path, exp=experiment) for a in args]
    assert main(["study", "--presets", ",".join(PRESETS), *args, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mmadapt study: error:") and message in err
    assert not (tmp_path / "s").exists()  # before the fix: s/study_config.json, which then refused the right command


def test_the_demo_epochs_are_the_cells_epochs(tmp_path):
    out = tmp_path / "s"
    assert not _claim(_synthetic(out, n_per_class=8, epochs=2))
    with pytest.raises(ConfigError, match=r"other settings \(epochs\)"):  # before the fix: resumed, trained 2
        _claim(_synthetic(out, n_per_class=8, epochs=3))
    assert _claim(_synthetic(out, epochs=2, n_per_class=8))  # --epochs 2 is --demo epochs=2


def test_a_refusal_names_the_changed_demo_fields(tmp_path):
    out = tmp_path / "s"
    _claim(_synthetic(out, lr=1e-3))
    overrides = DemoConfig().adapter_overrides
    overrides["fusion"]["latent_dim"] += 1
    changed = {"lr": 2e-3, "adapter_overrides": overrides}
    with pytest.raises(ConfigError, match=r"\(demo\.adapter_overrides\.fusion\.latent_dim, demo\.lr\)"):
        _claim(_synthetic(out, **changed))
    assert _claim(_synthetic(out, lr=1e-3).replace(seeds=(0, 1, 2), workers=2, threads=1))  # grid and execution


def test_a_real_data_study_resumes_from_another_working_folder(tmp_path, experiment, monkeypatch):
    def study(exp: str, out: str) -> StudyConfig:
        return StudyConfig(out_dir=out, presets=PRESETS, experiment=exp)

    monkeypatch.chdir(experiment.parent)
    assert not _claim(study("exp.yaml", "s"))
    monkeypatch.chdir(tmp_path)  # before the fix: refused, "other settings (experiment)"
    assert _claim(study("exp/exp.yaml", "exp/s"))
    assert _claim(study(str(experiment), str(experiment.parent / "s")))
    changed = experiment.parent / "other.yaml"
    changed.write_text(experiment.read_text().replace("batch_size: 2", "batch_size: 3"))
    with pytest.raises(ConfigError, match=r"other settings \(the experiment\)"):
        _claim(study(str(changed), "exp/s"))
