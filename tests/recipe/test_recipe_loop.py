"""The training loop and `evaluate`: what is trained, what is frozen, schedules, logs, outputs."""

from __future__ import annotations

import io
import json
import math
import warnings

import pytest
import torch

from mmadapt.errors import InputShapeError
from mmadapt.recipe import ProgressBar, TrainConfig, evaluate, train
from mmadapt.recipe.callbacks import progress_enabled

from .recipe_standin import NUM_CLASSES, C, ClipSet, F, M, S, T, TinyAVModel, make_model


def _cfg(out_dir, **kw) -> TrainConfig:
    base = dict(
        epochs=3, batch_size=4, num_workers=0, device="cpu", out_dir=str(out_dir), log_every=1, lr=1e-2, progress=False
    )
    return TrainConfig(**{**base, **kw})


def test_trains_adapters_only_and_writes_outputs(tmp_path):
    model = make_model(0)
    frozen, adapters = model.frozen_state(), model.adapter_state_dict()
    result = train(model, ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path), class_names=["a", "b", "c"])
    assert all(torch.equal(v, model.frozen_state()[k]) for k, v in frozen.items())  # bit-identical
    assert all(not torch.equal(v, model.adapter_state_dict()[k]) for k, v in adapters.items())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["final"]["epoch"] == 3 and summary["final"] == result.final
    assert "last epoch" in summary["protocol"] and "reference only" in summary["protocol"]
    best_uar = max(r["val_uar"] for r in result.history)
    assert summary["best"]["uar"] == best_uar
    assert summary["dataset_stats"] == {"train": {"clips": 12, "zero_audio": 1}, "val": {"clips": 5, "zero_audio": 1}}
    assert summary["trainable_params"] == sum(v.numel() for v in adapters.values())
    assert summary["train_clips_seen"] == 36 and summary["train_clips_per_s"] > 0
    confusion = json.loads((tmp_path / "confusion_final.json").read_text())
    assert confusion["class_names"] == ["a", "b", "c"] and sum(map(sum, confusion["counts"])) == 5
    assert (tmp_path / "confusion_final.png").is_file() and (tmp_path / "adapter" / "adapter.pt").is_file()
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["epoch_0003.pt"]  # keep_checkpoints=1
    # the final metrics are those of the returned (last-epoch) weights
    again = evaluate(model, ClipSet(5, seed=1))
    assert (again.uar, again.war) == (result.final["uar"], result.final["war"])
    assert again.loss == pytest.approx(result.final["loss"], rel=1e-12)


def test_metrics_jsonl_has_one_line_per_event(tmp_path):
    train(make_model(0), ClipSet(12), ClipSet(5, seed=1), _cfg(tmp_path, log_every=2))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if r["event"] == "train_step"]
    epochs = [r["epoch"] for r in records if r["event"] == "epoch"]
    assert steps == [2, 4, 6, 8] and epochs == [1, 2, 3]
    assert all({"loss", "lr", "clips_per_s", "time"} <= r.keys() for r in records if r["event"] == "train_step")
    assert all({"train_loss", "val_uar", "val_war", "val_loss"} <= r.keys() for r in records if r["event"] == "epoch")


def test_cosine_schedule_is_stepped_per_epoch(tmp_path):
    result = train(make_model(0), ClipSet(8), None, _cfg(tmp_path, epochs=4, lr=1e-3))
    expected = [1e-3 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert [r["lr"] for r in result.history] == pytest.approx(expected, rel=1e-12)
    assert result.final is None and result.best is None  # no validation set


def test_gradient_accumulation_equals_the_large_batch(tmp_path):
    big, acc = make_model(0, dropout=0.0), make_model(0, dropout=0.0)
    train(big, ClipSet(16), None, _cfg(tmp_path / "big", batch_size=8))
    train(acc, ClipSet(16), None, _cfg(tmp_path / "acc", batch_size=4, grad_accum_steps=2))
    a, b = big.adapter_state_dict(), acc.adapter_state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6, rtol=0) for k in a)
    assert not torch.equal(a["head.weight"], make_model(0).adapter_state_dict()["head.weight"])


def test_max_steps_stops_a_smoke_run(tmp_path):
    result = train(make_model(0), ClipSet(12), ClipSet(3, seed=1), _cfg(tmp_path, epochs=5, max_steps=4))
    assert result.global_step == 4 and result.summary["stopped_early"]
    assert result.epochs_completed == 1 and result.final["epoch"] == 2  # evaluated where it stopped
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["epoch_0001.pt"]  # no partial epoch


def test_progress_bars_only_on_a_terminal(tmp_path):
    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    assert not progress_enabled(True, io.StringIO())
    assert not progress_enabled(False, FakeTTY())
    assert progress_enabled(True, FakeTTY())
    stream = FakeTTY()
    train(make_model(0), ClipSet(8), None, _cfg(tmp_path, epochs=1), callbacks=[ProgressBar(True, stream)])
    assert "loss=" in stream.getvalue() and "clips_s=" in stream.getvalue()


def test_grad_checkpointing_flag_reaches_the_model(tmp_path):
    model = make_model(0)
    train(model, ClipSet(8), None, _cfg(tmp_path, epochs=1, grad_checkpointing=True))
    assert model.grad_checkpointing

    class NoCheckpointing(TinyAVModel):
        set_grad_checkpointing = None

    with pytest.warns(UserWarning, match="no set_grad_checkpointing"):
        train(NoCheckpointing(), ClipSet(8), None, _cfg(tmp_path / "b", epochs=1, grad_checkpointing=True))


def test_bf16_autocast_runs_when_forced(tmp_path):
    result = train(make_model(0), ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path, epochs=1, amp="bf16"))
    assert math.isfinite(result.history[0]["train_loss"]) and math.isfinite(result.final["loss"])


def test_bad_setups_are_rejected(tmp_path):
    with pytest.raises(TypeError, match="adapter_state_dict"):
        train(torch.nn.Linear(2, 2), ClipSet(8), None, _cfg(tmp_path))
    with pytest.raises(ValueError, match="gives no batch"):
        train(make_model(0), ClipSet(3), None, _cfg(tmp_path))
    frozen = make_model(0)
    frozen.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        train(frozen, ClipSet(8), None, _cfg(tmp_path))
    with pytest.raises(ValueError, match="backbone_dtype='bfloat16' needs a model with cast_backbones"):
        train(make_model(0), ClipSet(8), None, _cfg(tmp_path, backbone_dtype="bfloat16"))
    with pytest.raises(ValueError, match="compile_fusion needs a model with compile_fusion"):
        train(make_model(0), ClipSet(8), None, _cfg(tmp_path, compile_fusion=True))


def test_evaluate_is_independent_of_batch_size_and_restores_mode():
    model = make_model(0)
    model.train()
    one = evaluate(model, ClipSet(7, seed=2))
    three = evaluate(model, ClipSet(7, seed=2), batch_size=3)
    assert model.training
    assert torch.equal(one.confusion, three.confusion) and one.loss == pytest.approx(three.loss, rel=1e-6)
    assert one.num_samples == 7 and one.confusion.shape == (NUM_CLASSES, NUM_CLASSES)


def test_evaluate_averages_logits_over_views():
    model = make_model(0).eval()
    data = ClipSet(5, seed=3, views=2)
    result = evaluate(model, data, batch_size=2)
    with torch.no_grad():
        logits = torch.stack(
            [
                torch.stack([model(data.video[i, v][None], data.audio[i][None])[0] for v in range(2)]).mean(0)
                for i in range(5)
            ]
        )
    loss = torch.nn.functional.cross_entropy(logits, data.labels).item()
    assert result.loss == pytest.approx(loss, rel=1e-6)
    assert result.war == pytest.approx((logits.argmax(1) == data.labels).float().mean().item())


class _ListSet(torch.utils.data.Dataset):
    """A dataset of hand-made items."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def _item(**changes):
    item = {"video": torch.zeros(T, C, S, S), "audio": torch.zeros(1, F, M), "label": 0}
    item.update(changes)
    return {k: v for k, v in item.items() if v is not None}


@pytest.mark.parametrize(
    ("item", "error", "message"),
    [
        (
            _item(video=torch.zeros(3, 4, 4)),
            ValueError,
            r"video batch must be \(B, T, C, H, W\) or \(B, V, T, C, H, W\), got \(1, 3, 4, 4\)",
        ),
        (_item(audio=torch.zeros(F, M)), ValueError, r"audio batch must be \(B, C, H, W\) or .* got \(1, 8, 4\)"),
        (
            _item(audio=None),
            ValueError,
            r"the model's streams are \['video', 'audio'\], the batch has \['video'\]: "
            r"missing \['audio'\]$",
        ),
        (_item(flow=torch.zeros(T, C, S, S)), ValueError, r"has \['video', 'audio', 'flow'\]: unknown \['flow'\]$"),
        (_item(audio=None, flow=torch.zeros(1)), ValueError, r"missing \['audio'\]; unknown \['flow'\]$"),
        (_item(label=None), ValueError, r"the batch has no 'label' entry"),
        (
            _item(label=None, y=0),
            InputShapeError,
            r"the batch has no 'label' entry \(keys: \['video', 'audio', 'y'\]\)",
        ),
        (_item(label=0.5), ValueError, r"labels must be \(B,\) integers"),
        (_item(video=torch.zeros(T, C, S, S, dtype=torch.long)), TypeError, r"video batch must be floating point"),
        (
            (torch.zeros(T, C, S, S), torch.zeros(1, F, M), 0),
            ValueError,
            r"expected a batch \{stream: tensor, \.\.\., 'label': labels\} keyed by the model's streams \['video', "
            r"'audio'\], got a list",
        ),
    ],
    ids=[
        "video-rank",
        "audio-rank",
        "missing",
        "unknown",
        "missing-and-unknown",
        "no-label",
        "renamed-label",
        "float-label",
        "int-stream",
        "tuple",
    ],
)
def test_bad_batches_are_named_in_one_line(tmp_path, item, error, message):
    with warnings.catch_warnings(), pytest.raises(error, match=message) as raised:
        evaluate(make_model(0), _ListSet([item, item]))
    assert "\n" not in str(raised.value)
    with pytest.raises(error, match=message):
        train(make_model(0), _ListSet([item, item]), None, _cfg(tmp_path, batch_size=1, epochs=1))


def test_training_batches_must_be_single_view(tmp_path):
    views = r"training batches must be single-view; these streams carry views: \{'video': 2\}"
    with pytest.raises(ValueError, match=views):
        train(make_model(0), ClipSet(4, views=2), None, _cfg(tmp_path, batch_size=2, epochs=1))


def test_views_of_every_stream_are_averaged_and_must_agree():
    model = make_model(0).eval()
    data = ClipSet(4, seed=3, views=2)
    shared = evaluate(model, data)
    both = [{**data[i], "audio": data.audio[i].expand(2, -1, -1, -1)} for i in range(4)]
    same = evaluate(model, _ListSet(both))
    assert torch.equal(same.confusion, shared.confusion) and same.loss == pytest.approx(shared.loss, rel=1e-6)
    odd = [{**data[i], "audio": data.audio[i].expand(3, -1, -1, -1)} for i in range(4)]
    disagree = r"the streams disagree on the number of views per clip: \{'video': 2, 'audio': 3\}"
    with pytest.raises(ValueError, match=disagree):
        evaluate(model, _ListSet(odd))


def test_the_stand_in_and_the_mmadapt_model_both_meet_the_protocol():
    from mmadapt.recipe.protocols import StreamModel, stream_layout

    from ..core.helpers import make_pair, wrap

    audio, video, _, _ = make_pair("timm+timm")
    wrapped = wrap(audio, video)
    assert isinstance(make_model(0), StreamModel) and isinstance(wrapped, StreamModel)
    assert not isinstance(torch.nn.Linear(2, 2), StreamModel)
    assert stream_layout(make_model(0)) == {"video": True, "audio": False}
    assert stream_layout(wrapped) == {"audio": False, "video": True}  # the model's order


def test_a_model_without_stream_names_is_rejected_by_name(tmp_path):
    class Positional(TinyAVModel):
        stream_names = None

    with pytest.raises(
        TypeError, match=r"model Positional lacks \.stream_names; the recipe feeds batches by stream name"
    ):
        train(Positional(), ClipSet(8), None, _cfg(tmp_path))
    with pytest.raises(TypeError, match=r"model Positional lacks \.stream_names"):
        evaluate(Positional(), ClipSet(3))


def test_eval_every_and_the_seed_is_set_by_train(tmp_path):
    first = make_model(0)
    result = train(first, ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path / "a", eval_every=2))
    assert ["val_uar" in r for r in result.history] == [False, True, True]  # epoch 2, and always the last
    second = make_model(0)
    torch.manual_seed(999)  # whatever the caller's RNG state, train() seeds from cfg.seed
    train(second, ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path / "b", eval_every=2))
    a, b = first.adapter_state_dict(), second.adapter_state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_tensorboard_logging_is_optional(tmp_path):
    train(make_model(0), ClipSet(8), ClipSet(3, seed=1), _cfg(tmp_path, epochs=1, tensorboard=True))
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tensorboard").iterdir())


@pytest.mark.parametrize("batch, said", [(5, "the last 2 of 12 training clips"), (4, None)])
def test_drop_last_says_how_many_clips_each_epoch_leaves_out(tmp_path, caplog, batch, said):
    with caplog.at_level("WARNING", logger="mmadapt.recipe.loop"):
        train(make_model(0), ClipSet(12), None, _cfg(tmp_path, epochs=1, batch_size=batch))
    messages = [r.getMessage() for r in caplog.records if "drop_last" in r.getMessage()]
    if said is None:
        assert messages == []
    else:
        assert messages == [f"drop_last: {said} are left out each epoch (batch {batch})"]
