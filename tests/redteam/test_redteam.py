"""The red-team catalogue of issue 13 as one specification: every generated attack reaches its expected outcome
(``clear``, ``ok`` or ``intact``), never ``raw``, ``silent`` or ``lost``. Cases of items still being fixed, and
defects this harness found, are strict xfails (``Case.pending``): the mark comes off with the fix.

``python -m tests.redteam.report`` prints the same catalogue's totals per area.
"""

from __future__ import annotations

import pytest
import torch

from .case import Case, classify
from .catalogue import all_cases


def _param(case: Case):
    marks = []
    if case.pending is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=case.pending_reason))
    if case.slow:
        marks.append(pytest.mark.slow)
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models: one intra-op thread is several times faster than two fighting over a busy machine's cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.filterwarnings("ignore::UserWarning")  # random backbones and prototype nested tensors warn
@pytest.mark.parametrize("case", [_param(c) for c in all_cases()])
def test_attack_reaches_its_expected_outcome(case: Case) -> None:
    verdict = classify(case)
    assert verdict.passed(case), f"{case.id} (issue 13 item {case.item}): {verdict.outcome}: {verdict.detail}"


def test_every_config_class_of_mmadapt_is_walked() -> None:
    from .catalogue.config_values import config_classes

    walked = {c.id.split("/")[1].split(".")[0] for c in all_cases() if c.area == "config"}
    assert {c.__name__ for c in config_classes()} <= walked


def test_the_catalogue_is_large_and_ids_are_unique() -> None:
    ids = [c.id for c in all_cases()]
    assert len(ids) == len(set(ids)) and len(ids) >= 500
