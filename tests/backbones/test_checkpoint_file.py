"""read_state_dict: local files only, safe unpickling, wrappers undone, clear errors naming the path."""

import pytest
import torch
from safetensors.torch import save_file

from mmadapt.backbones import CheckpointError, read_state_dict


class NotATensor:
    """A custom class: rebuilding it needs arbitrary code, so weights_only loading must refuse it."""

    def __init__(self) -> None:
        self.value = 3


@pytest.fixture
def sd():
    return {"a.weight": torch.randn(3, 2), "b": torch.arange(4)}


def _same(x, y):
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,
        lambda sd: {"model": sd, "epoch": 3},
        lambda sd: {"state_dict": {f"module.{k}": v for k, v in sd.items()}},
    ],
    ids=["plain", "model", "dataparallel"],
)
def test_reads_torch_files(tmp_path, sd, wrap):
    path = tmp_path / "ckpt.pth"
    torch.save(wrap(sd), path)
    assert _same(read_state_dict(path), sd)


def test_reads_safetensors(tmp_path, sd):
    path = tmp_path / "ckpt.safetensors"
    save_file(sd, str(path))
    assert _same(read_state_dict(path), sd)


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        read_state_dict(tmp_path / "nope.pth")


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_truncated_file_names_path(tmp_path, sd, suffix):
    path = tmp_path / f"cut{suffix}"
    if suffix == ".pth":
        torch.save({"model": sd}, path)
    else:
        save_file(sd, str(path))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=f"cut{suffix}"):
        read_state_dict(path)


def test_refuses_arbitrary_pickles(tmp_path, sd):
    path = tmp_path / "evil.pth"
    torch.save({"model": sd, "args": NotATensor()}, path)
    with pytest.raises(CheckpointError, match=r"refusing to load .*evil\.pth.*NotATensor"):
        read_state_dict(path)


def test_no_state_dict_inside(tmp_path):
    path = tmp_path / "odd.pth"
    torch.save({"epoch": 1, "optimizer": {"lr": 0.1}}, path)
    with pytest.raises(CheckpointError, match=r"no state dict found in .*odd\.pth.*epoch"):
        read_state_dict(path)
