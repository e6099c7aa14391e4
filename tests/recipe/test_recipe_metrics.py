"""UAR / WAR against hand computations and the official evaluate.py formula; confusion-matrix files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.functional.classification import multiclass_recall

from mmadapt.recipe.metrics import compute_metrics, confusion_matrix, save_confusion_matrix, uar, war


def _official_uar(targets: np.ndarray, preds: np.ndarray) -> float:
    """evaluate.py: sklearn confusion_matrix over the labels seen in targets or preds, row-normalised,
    mean of the diagonal (NaN when a seen label has no target sample)."""
    labels = np.union1d(targets, preds)
    cm = np.array([[np.sum((targets == a) & (preds == b)) for b in labels] for a in labels], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.mean(np.diag(cm / cm.sum(axis=1)[:, None])))


def test_hand_computed_example_and_torchmetrics_difference():
    targets = torch.tensor([0, 0, 1, 1])
    preds = torch.tensor([0, 2, 1, 1])  # class 2 is predicted but never a target
    cm = confusion_matrix(preds, targets, num_classes=4)
    assert cm.tolist() == [[1, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert uar(cm) == pytest.approx((1 / 2 + 2 / 2) / 2)  # classes 0 and 1 only
    assert war(cm) == pytest.approx(3 / 4)
    # torchmetrics' macro recall counts class 2 as recall 0, hence it is not used for UAR
    assert float(multiclass_recall(preds, targets, num_classes=4, average="macro")) == pytest.approx(0.5)
    assert math.isnan(_official_uar(targets.numpy(), preds.numpy()))  # the official code gives NaN here


def test_skewed_classes_separate_uar_from_war():
    targets = torch.tensor([0] * 8 + [1] * 2)
    logits = torch.zeros(10, 2)
    logits[:, 0] = 1.0  # always predicts class 0
    m = compute_metrics(logits, targets, loss_sum=5.0)
    assert (m.war, m.uar, m.loss, m.num_samples) == (pytest.approx(0.8), pytest.approx(0.5), pytest.approx(0.5), 10)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_uar_war_match_the_definitions(data):
    k = data.draw(st.integers(2, 6))
    n = data.draw(st.integers(1, 40))
    targets = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    preds = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    cm = confusion_matrix(torch.from_numpy(preds), torch.from_numpy(targets), k)
    present = sorted(set(targets.tolist()))
    recalls = [np.mean(preds[targets == c] == c) for c in present]
    assert uar(cm) == pytest.approx(float(np.mean(recalls)))
    assert war(cm) == pytest.approx(float(np.mean(preds == targets)))
    if set(preds.tolist()) <= set(present):  # the official formula is finite exactly then, and agrees
        assert uar(cm) == pytest.approx(_official_uar(targets, preds))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="targets must lie in"):
        confusion_matrix(torch.tensor([0]), torch.tensor([5]), num_classes=3)
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), num_classes=3)
    with pytest.raises(ValueError, match=r"logits must be \(N, C\)"):
        compute_metrics(torch.zeros(3), torch.zeros(3, dtype=torch.long))


def test_confusion_matrix_files(tmp_path):
    cm = torch.tensor([[3, 1, 0], [0, 2, 2], [0, 0, 0]])
    names = ["happy", "sad", "fear"]
    json_path, png_path = save_confusion_matrix(cm, tmp_path / "cm", names)
    saved = json.loads(json_path.read_text())
    assert saved["class_names"] == names and saved["counts"] == cm.tolist()
    assert saved["per_class_recall"] == [0.75, 0.5, None]
    assert saved["uar"] == pytest.approx(0.625) and saved["war"] == pytest.approx(5 / 8)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.json", "cm.png"]  # no temp files left
    with pytest.raises(ValueError, match="2 class names for a 3-class"):
        save_confusion_matrix(cm, tmp_path / "bad", names[:2])
