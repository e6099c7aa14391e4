"""The k-fold driver: per-fold test metrics of the final weights, mean and sample std over folds."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from mmadapt.recipe import TrainConfig, evaluate, run_kfold

from .recipe_standin import ClipSet, make_model


def _datasets(fold: int):
    return ClipSet(8, seed=10 + fold), ClipSet(6, seed=20 + fold)


def test_two_folds(tmp_path):
    cfg = TrainConfig(
        epochs=2, batch_size=4, lr=1e-2, num_workers=0, device="cpu", out_dir=str(tmp_path), progress=False
    )
    result = run_kfold(lambda fold: make_model(fold), _datasets, cfg, folds=(1, 2), class_names=["x", "y", "z"])
    summary = json.loads((tmp_path / "kfold_summary.json").read_text())
    uars, wars = [f["uar"] for f in summary["folds"]], [f["war"] for f in summary["folds"]]
    assert [f["fold"] for f in summary["folds"]] == [1, 2]
    assert summary["uar_mean"] == pytest.approx(statistics.mean(uars))
    assert summary["uar_std"] == pytest.approx(statistics.stdev(uars))
    assert summary["war_mean"] == pytest.approx(statistics.mean(wars))
    assert summary["war_std"] == pytest.approx(statistics.stdev(wars))
    assert result.uar_mean == summary["uar_mean"] and len(result.folds) == 2
    for fold in (1, 2):  # each fold's number is the test score of that fold's saved final adapter
        model = make_model(123)
        model.load_adapter_state_dict(torch.load(tmp_path / f"fold_{fold}" / "adapter" / "adapter.pt"))
        model.backbones["video"].load_state_dict(make_model(fold).backbones["video"].state_dict())
        model.backbones["audio"].load_state_dict(make_model(fold).backbones["audio"].state_dict())
        metrics = evaluate(model, _datasets(fold)[1])
        assert (metrics.uar, metrics.war, metrics.num_samples) == (
            result.folds[fold - 1].uar,
            result.folds[fold - 1].war,
            6,
        )
        assert (tmp_path / f"fold_{fold}" / "confusion_test.png").is_file()


def test_rejects_bad_fold_lists(tmp_path):
    cfg = TrainConfig(out_dir=str(tmp_path))
    with pytest.raises(ValueError, match="unique"):
        run_kfold(make_model, _datasets, cfg, folds=(1, 1))
    with pytest.raises(ValueError, match="resume"):
        run_kfold(make_model, _datasets, TrainConfig(out_dir=str(tmp_path), resume="x.pt"))
