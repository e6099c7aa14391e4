"""Shared fixtures of the data-pipeline tests: one tiny synthetic mp4 dataset per session."""

from __future__ import annotations

import pytest

from mmadapt.demo.scenes import SyntheticDataset, make_synthetic_dataset
from tests.data._media import TINY


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> SyntheticDataset:
    """2 clips per class (12 mp4 files): one train, one test clip of each class."""
    return make_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), n_per_class=2, seed=3, config=TINY)
