"""The grid resumes: a finished (preset, seed) cell is never trained again, an interrupted one is, a grown grid trains
only its new cells, and a folder of other settings or other files is refused. A fake trainer stands in for
training (its numbers are a known function of the cell), so the reports can be checked against hand values."""

from __future__ import annotations

import json

import pytest

from mmadapt._io import write_json
from mmadapt.errors import ConfigError
from mmadapt.study import StudyConfig, paired_difference, run_study
from mmadapt.study import runner as runner_module
from mmadapt.study.grid import Cell, grid
from mmadapt.study.report import table_rows

PRESETS = ("mma-dfer", "mma-dfer-no-fusion")
CLASSES = ("a", "b")


def fake_uar(preset: str, seed: int) -> float:
    return 0.5 + 0.01 * seed + (0.03 if preset == PRESETS[1] else 0.0) - (0.05 if seed == 2 else 0.0)


class FakeTrainer:
    """Counts the cells it "trains"; ``fail_at`` raises on that call (an interrupted study)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[Cell] = []
        self.fail_at = fail_at

    def __call__(self, task):
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise KeyboardInterrupt
        self.calls.append(task.cell)
        uar = fake_uar(task.cell.preset, task.cell.seed)
        record = {
            "preset": task.cell.preset,
            "seed": task.cell.seed,
            "uar": uar,
            "war": uar + 0.1,
            "per_class_recall": {"a": uar, "b": float("nan") if task.cell.seed == 0 else 1.0},
            "backbones": {"audio": "same", "video": "same"},
        }
        write_json(task.cell.result_file(task.out_dir), record)
        return record


@pytest.fixture
def experiment(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("data:\n  source:\n    kind: manifest\n    train: train.csv\n    val: val.csv\n")
    for split in ("train", "val"):  # a study checks they exist before it claims its folder
        (tmp_path / f"{split}.csv").write_text("video,label\n")
    return path


@pytest.fixture
def fake(monkeypatch):
    trainer = FakeTrainer()
    monkeypatch.setattr(runner_module, "run_cell", trainer)
    return trainer


def study(tmp_path, experiment, **changes) -> StudyConfig:
    base = dict(out_dir=str(tmp_path / "study"), presets=PRESETS, seeds=(0, 1, 2), experiment=str(experiment))
    return StudyConfig(**{**base, **changes})


def test_a_finished_cell_is_not_rerun(tmp_path, experiment, fake):
    first = run_study(study(tmp_path, experiment), progress=False)
    assert fake.calls == grid(study(tmp_path, experiment)) and first.trained == fake.calls
    fake.calls.clear()
    again = run_study(study(tmp_path, experiment), progress=False)
    assert fake.calls == [] and again.trained == []
    assert again.summary["metrics"] == first.summary["metrics"]
    grown = run_study(study(tmp_path, experiment, seeds=(0, 1, 2, 3)), progress=False)
    assert fake.calls == [Cell(p, 3) for p in PRESETS] == grown.trained
    fake.calls.clear()
    Cell(PRESETS[1], 1).result_file(tmp_path / "study").unlink()  # a lost result: that cell alone trains again
    run_study(study(tmp_path, experiment), progress=False)
    assert fake.calls == [Cell(PRESETS[1], 1)]


def test_an_interrupted_study_resumes_where_it_stopped(tmp_path, experiment, monkeypatch):
    stopping = FakeTrainer(fail_at=3)
    monkeypatch.setattr(runner_module, "run_cell", stopping)
    with pytest.raises(KeyboardInterrupt):
        run_study(study(tmp_path, experiment), progress=False)
    done = list(stopping.calls)
    assert len(done) == 3 and not (tmp_path / "study" / "study.json").exists()
    resumed = FakeTrainer()
    monkeypatch.setattr(runner_module, "run_cell", resumed)
    run_study(study(tmp_path, experiment), progress=False)
    assert resumed.calls == [c for c in grid(study(tmp_path, experiment)) if c not in done]


def test_reports_hold_the_hand_computed_numbers(tmp_path, experiment, fake):
    result = run_study(study(tmp_path, experiment), progress=False)
    out = tmp_path / "study"
    saved = json.loads((out / "study.json").read_text())
    seeds = (0, 1, 2)
    ref = {s: fake_uar(PRESETS[0], s) for s in seeds}
    other = {s: fake_uar(PRESETS[1], s) for s in seeds}
    expected = paired_difference(other, ref)
    got = saved["paired"][PRESETS[1]]["uar"]
    assert got["mean"] == pytest.approx(0.03) and got["wins"] == 3 and got["sign_p"] == pytest.approx(0.25)
    assert got["ci_low"] == pytest.approx(expected.ci_low)
    assert saved["metrics"][PRESETS[0]]["uar"]["values"] == pytest.approx([ref[s] for s in seeds])
    assert saved["reference"] == PRESETS[0] and PRESETS[0] not in saved["paired"]
    recall = saved["per_class_recall"][PRESETS[0]]
    assert recall["b"] == {"mean": 1.0, "std": 0.0}  # the seed without class b is left out of its mean
    assert recall["a"]["mean"] == pytest.approx(sum(ref.values()) / 3)
    md = (out / "study.md").read_text()
    for row in table_rows(result.summary):
        assert "| " + " | ".join(row) + " |" in md
    assert "| mma-dfer | 3 | 0.493 ± " in md and "+0.030 [" in md
    assert (out / "study.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_reference_can_be_any_preset(tmp_path, experiment, fake):
    result = run_study(study(tmp_path, experiment, reference=PRESETS[1]), progress=False)
    assert result.summary["paired"][PRESETS[0]]["uar"]["mean"] == pytest.approx(-0.03)


def test_a_folder_of_other_settings_or_files_is_refused(tmp_path, experiment, fake):
    run_study(study(tmp_path, experiment), progress=False)
    with pytest.raises(ConfigError, match="other settings.*epochs"):
        run_study(study(tmp_path, experiment, epochs=3), progress=False)
    fake.calls.clear()
    run_study(study(tmp_path, experiment, epochs=3), overwrite=True, progress=False)
    assert len(fake.calls) == 6  # started afresh
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds no study"):
        run_study(study(tmp_path, experiment, out_dir=str(other)), progress=False)
    run_study(study(tmp_path, experiment, out_dir=str(other)), overwrite=True, progress=False)
    assert (other / "notes.txt").read_text() == "mine"  # --overwrite removes only a study's own files
    (experiment).write_text(experiment.read_text().replace("val.csv", "val2.csv"))
    (tmp_path / "val2.csv").write_text("video,label\n")
    with pytest.raises(ConfigError, match=r"other settings \(the experiment\)"):
        run_study(study(tmp_path, experiment, epochs=3), progress=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(presets=()), "presets is empty"),
        (dict(presets=("a", "a")), "repeats"),
        (dict(seeds=(1, 1)), "distinct"),
        (dict(reference="nope"), "not one of the presets"),
        (dict(synthetic="expressions"), "exactly one source"),
        (dict(workers=0), "workers"),
    ],
)
def test_bad_studies_are_refused(tmp_path, experiment, changes, message):
    with pytest.raises(ConfigError, match=message):
        study(tmp_path, experiment, **changes)
