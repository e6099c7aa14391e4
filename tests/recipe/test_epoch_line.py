"""One plain line per epoch, terminal or not (issue 17 item 3): loss, lr, validation UAR/WAR, time, clips/s."""

from __future__ import annotations

import io
import re

from mmadapt.recipe import TrainConfig, train
from mmadapt.recipe.callbacks import EpochLine
from mmadapt.recipe.callbacks.epoch_line import format_epoch_line

from .recipe_standin import ClipSet, make_model

_LINE = re.compile(
    r"^epoch (\d+)/3  loss \d+\.\d{4}  lr [0-9.e-]+  val UAR \d\.\d{4} WAR \d\.\d{4}  \d+\.\d s  \d+\.\d clips/s$"
)


def _cfg(out_dir, **kw) -> TrainConfig:
    base = dict(
        epochs=3, batch_size=4, num_workers=0, device="cpu", out_dir=str(out_dir), log_every=0, lr=1e-2, progress=False
    )
    return TrainConfig(**{**base, **kw})


def test_training_prints_one_line_per_epoch_to_stdout_without_a_terminal(tmp_path, capsys):
    result = train(make_model(0), ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path))
    lines = capsys.readouterr().out.splitlines()
    assert [int(_LINE.match(line).group(1)) for line in lines] == [1, 2, 3], lines
    history = [r for r in result.history if r["event"] == "epoch"]
    assert [f"loss {r['train_loss']:.4f}" in line for r, line in zip(history, lines)] == [True] * 3
    assert f"val UAR {history[-1]['val_uar']:.4f}" in lines[-1]


def test_epoch_lines_off_prints_nothing(tmp_path, capsys):
    train(make_model(0), ClipSet(8), None, _cfg(tmp_path, epoch_lines=False))
    assert capsys.readouterr().out == ""


def test_a_user_stream_and_label_replace_the_default_line(tmp_path, capsys):
    stream = io.StringIO()
    train(make_model(0), ClipSet(8), None, _cfg(tmp_path, epochs=1), callbacks=[EpochLine(stream, label="[a] ")])
    assert stream.getvalue().startswith("[a] epoch 1/1  loss ") and capsys.readouterr().out == ""


def test_the_line_says_a_partial_epoch_and_spells_non_finite_numbers():
    line = format_epoch_line({"epoch": 2, "train_loss": float("nan"), "lr": 1e-4, "complete": False}, 5, 1.25)
    assert line == "epoch 2/5  loss nan  lr 0.0001  1.2 s  (partial epoch)"
