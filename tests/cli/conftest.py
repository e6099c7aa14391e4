"""Shared fixtures of the command-line tests: a tiny synthetic mp4 dataset, a tiny experiment, one trained run.

The backbones are timm ViTs shrunk through the experiment's kwargs (32 px frames, 32x16 spectrograms, width 32,
two blocks), so a training step takes milliseconds and the whole folder runs in seconds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mmadapt.cli import main
from mmadapt.data import SyntheticConfig, SyntheticDataset, make_synthetic_dataset

TINY_CLIPS = SyntheticConfig(size=32, fps=8, seconds=1.0)


def tiny_experiment(data: SyntheticDataset) -> dict:
    """An experiment dict for the synthetic data (relative paths: the file is written beside ``data/``)."""
    vit = {"patch_size": 8, "embed_dim": 32, "depth": 2, "num_heads": 2, "num_classes": 0}
    return {
        "model": {
            "preset": "mma-dfer",
            "audio": {"name": "vit_tiny_patch16_224", "kwargs": {**vit, "img_size": [32, 16], "in_chans": 1}},
            "video": {"name": "vit_tiny_patch16_224", "kwargs": {**vit, "img_size": 32}},
            "overrides": {"head": {"dim": 32, "heads": 2, "dim_head": 16, "mlp_dim": 64}, "fusion": {"latent_dim": 16}},
        },
        "data": {
            "num_frames": 4,
            "transform": {"img_size": 32},
            "audio": {"num_mel_bins": 16, "target_frames": 32},
            "source": {
                "kind": "manifest",
                "train": f"{data.root.name}/train.csv",
                "val": f"{data.root.name}/test.csv",
                "class_names": f"{data.root.name}/classes.json",
            },
        },
        "train": {"epochs": 1, "batch_size": 2, "num_workers": 0, "device": "cpu", "progress": False, "log_every": 1},
    }


@dataclass
class Workspace:
    root: Path
    data: SyntheticDataset
    config: Path


@dataclass
class TrainedRun:
    out: Path
    workspace: Workspace
    stdout: str


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Tiny models: one intra-op thread is ~10x faster than several fighting over a busy machine's cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("cli")
    data = make_synthetic_dataset(root / "data", n_per_class=2, seed=5, config=TINY_CLIPS)
    config = root / "exp.yaml"
    config.write_text(yaml.safe_dump(tiny_experiment(data)), encoding="utf-8")
    return Workspace(root, data, config)


@pytest.fixture(scope="session")
def trained(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> TrainedRun:
    """`mmadapt train` for two optimizer steps; run once, shared by the eval/predict tests."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("run") / "run"
    buffer = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buffer):
        warnings.simplefilter("ignore", UserWarning)  # random backbones are the point here
        code = main(["train", "--config", str(workspace.config), "train.max_steps=2", "--out", str(out)])
    assert code == 0
    return TrainedRun(out, workspace, buffer.getvalue())
