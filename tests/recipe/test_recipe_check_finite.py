"""`TrainConfig.check_finite`: the Trainer switches the model's NaN/inf checks on for training and evaluation, so a
NaN in a clip stops the run naming the stream and the position instead of surfacing as a skipped step (issue 13
item 13). Off, the same clip is one more non-finite step for `max_nonfinite_steps`."""

from __future__ import annotations

import math

import pytest
import torch

from mmadapt.errors import NonFiniteError
from mmadapt.recipe import TrainConfig, Trainer, train
from mmadapt.recipe.protocols import LABEL_KEY

from ..core.helpers import make_pair, wrap
from .recipe_standin import ClipSet, make_model

T = 2  # frames per clip
BAD = (1, 0, 2, 3)  # (frame, channel, row, column) of the NaN in the spoiled clip's video


class PairClips(torch.utils.data.Dataset):
    """``n`` clips for the timm+timm pair; the clips in ``spoiled`` carry one NaN in their video at ``BAD``."""

    def __init__(self, n: int, shapes: tuple[tuple[int, ...], tuple[int, ...]], spoiled: frozenset[int] = frozenset()):
        g = torch.Generator().manual_seed(0)
        a_shape, v_shape = shapes
        self.audio = torch.randn(n, *a_shape, generator=g)
        self.video = torch.randn(n, T, *v_shape, generator=g)
        for i in spoiled:
            self.video[(i, *BAD)] = math.nan
        self.labels = torch.arange(n) % 3

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        return {"video": self.video[i], "audio": self.audio[i], LABEL_KEY: int(self.labels[i])}


def _setup(spoil_train: frozenset[int] = frozenset(), spoil_val: frozenset[int] | None = None):
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video, num_classes=3)
    train_set = PairClips(4, (a_shape, v_shape), spoil_train)
    val_set = PairClips(2, (a_shape, v_shape), spoil_val) if spoil_val is not None else None
    return model, train_set, val_set


def _cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(
        epochs=1,
        batch_size=2,
        num_workers=0,
        device="cpu",
        out_dir=str(tmp_path),
        progress=False,
        log_every=0,
        eval_batch_size=2,
    )
    return TrainConfig(**{**base, **kw})


def test_check_finite_is_off_by_default_and_a_nan_clip_is_a_skipped_step(tmp_path):
    assert TrainConfig().check_finite is False
    model, train_set, _ = _setup(spoil_train=frozenset({1}))
    trainer = Trainer(model, train_set, None, _cfg(tmp_path, max_nonfinite_steps=1))
    result = trainer.fit()
    assert result.epochs_completed == 1 and trainer.nonfinite_steps == 1 and model.check_finite is False


def test_a_nan_clip_stops_a_checked_run_naming_the_stream_and_position(tmp_path):
    model, train_set, _ = _setup(spoil_train=frozenset({1}))
    with pytest.raises(NonFiniteError) as err:
        train(model, train_set, None, _cfg(tmp_path, check_finite=True, max_nonfinite_steps=1, shuffle=False))
    # batch 0 holds clips 0 and 1: the NaN is clip 1 of the batch
    assert str(err.value).startswith(
        f"input 'video': 1 non-finite value of {2 * T * 3 * 32 * 32} (1 nan); first at {[1, *BAD]} "
    )
    assert not (tmp_path / "adapter").exists()


def test_the_check_also_covers_evaluation_and_stays_on_the_model(tmp_path):
    model, train_set, val_set = _setup(spoil_val=frozenset({0}))
    with pytest.raises(NonFiniteError, match=r"^input 'video': 1 non-finite value .*first at \[0, 1, 0, 2, 3\]"):
        train(model, train_set, val_set, _cfg(tmp_path, check_finite=True))
    assert model.check_finite is True  # the model was switched on; the training steps before were finite


def test_a_model_without_the_switch_is_warned_about_and_trains_unchecked(tmp_path):
    with pytest.warns(UserWarning, match=r"^TinyAVModel has no check_finite switch; TrainConfig.check_finite ignored"):
        result = train(make_model(), ClipSet(4), None, _cfg(tmp_path, check_finite=True, batch_size=2))
    assert result.epochs_completed == 1
