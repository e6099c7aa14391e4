"""The study's preparation (a synthetic scene's pretraining) runs with the study's torch threads, as its cells do,
and leaves the caller's thread count as it was: torch's default on a shared CPU oversubscribes it (measured: a
pretraining that takes ~70 s of CPU on one thread ran for more than 15 minutes beside other jobs)."""

from __future__ import annotations

import pytest
import torch

from mmadapt.demo.config import DemoConfig
from mmadapt.study import StudyConfig, run_study, runner


class _Stop(Exception):
    pass


def test_the_preparation_runs_with_the_study_threads(tmp_path, monkeypatch):
    seen = []

    def prepare(study, source):
        seen.append(torch.get_num_threads())
        raise _Stop

    monkeypatch.setattr(runner, "_prepare_experiment", prepare)
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    study = StudyConfig(out_dir=str(tmp_path / "s"), synthetic="speakers", threads=target, demo=DemoConfig())
    with pytest.raises(_Stop):
        run_study(study, progress=False)
    assert seen == [target]
    assert torch.get_num_threads() == before
