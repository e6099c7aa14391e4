"""Specification: ``AdapterTrainer`` (a ``transformers.Trainer``) checkpoints, resumes and reloads the adapter alone.

Over a timm pair and a Hugging Face pair of tiny random backbones, on a few random clips:
* every checkpoint folder holds the adapter's tensors and nothing of the backbones (names, bytes, optimizer state);
* ``train(resume_from_checkpoint=...)`` starts from the checkpoint's adapter exactly and ends where an
  uninterrupted run ends;
* ``load_best_model_at_end`` leaves the best checkpoint's adapter in the model;
* ``save_model`` / ``save_pretrained`` -> ``from_pretrained`` into fresh backbones gives identical logits;
* the loss is the Trainer's: cross-entropy, label smoothing, gradient accumulation scaled as for a mean loss.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import transformers
from hypothesis import given
from hypothesis import strategies as st
from safetensors import safe_open
from torch.utils.data import Dataset

from mmadapt import MultimodalAdapterModel
from mmadapt.checkpoint import read_adapter_weights
from mmadapt.errors import CheckpointError, ConfigError, InputShapeError
from mmadapt.integrations import AdapterTrainer, batch_loss, split_batch

from ..core.helpers import make_inputs, make_pair, wrap

PAIRS = ["timm+timm", "hfvit+clip"]
"""A timm pair and a Hugging Face pair (tests/core/backbones.py)."""
CLIPS, BATCH, FRAMES, CLASSES = 8, 2, 2, 5
STEPS = CLIPS // BATCH  # one epoch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one intra-op thread is faster on a shared machine, and sums in one order (exact resumes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Clips(Dataset):
    """Random clips as the recipe's datasets give them: streams by name, an int ``label``, and a key the model
    does not take (``clip_id``), which the Trainer's ``remove_unused_columns`` must drop."""

    def __init__(self, a_shape, v_shape, n: int = CLIPS, seed: int = 0) -> None:
        video, audio = make_inputs(a_shape, v_shape, n=n, t=FRAMES, seed=seed)
        self.items = [{"video": video[i], "audio": audio[i], "label": i % CLASSES, "clip_id": i} for i in range(n)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def fresh(pair: str):
    """The same backbones and the same initial adapter every call."""
    audio, video, a_shape, v_shape = make_pair(pair)
    torch.manual_seed(0)
    return wrap(audio, video, num_classes=CLASSES), a_shape, v_shape


def arguments(out: Path, **kw) -> transformers.TrainingArguments:
    base = dict(
        per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=BATCH,
        num_train_epochs=1,
        learning_rate=1e-2,
        save_strategy="steps",
        save_steps=2,
        use_cpu=True,
        report_to="none",
        disable_tqdm=True,
        logging_strategy="no",
        seed=0,
    )
    return transformers.TrainingArguments(str(out), **{**base, **kw})


def trainer(model, a_shape, v_shape, out: Path, **kw) -> AdapterTrainer:
    extra = {k: kw.pop(k) for k in ("callbacks", "compute_metrics") if k in kw}
    return AdapterTrainer(
        model,
        arguments(out, **kw),
        train_dataset=Clips(a_shape, v_shape),
        eval_dataset=Clips(a_shape, v_shape, n=4, seed=1),
        **extra,
    )


def adapter_of(model: MultimodalAdapterModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.adapter_state_dict().items()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def tensor_bytes(path: Path) -> int:
    """Bytes of tensor data in a safetensors file: its size less the 8-byte length and the JSON header."""
    with path.open("rb") as f:
        (header,) = struct.unpack("<Q", f.read(8))
    return path.stat().st_size - 8 - header


# ---- checkpoints -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS)
def test_a_checkpoint_holds_the_adapter_and_nothing_of_the_backbones(pair, tmp_path):
    model, a_shape, v_shape = fresh(pair)
    trainer(model, a_shape, v_shape, tmp_path).train()
    adapter = adapter_of(model)
    adapter_bytes = sum(t.numel() * t.element_size() for t in adapter.values())
    backbone_bytes = sum(p.numel() * p.element_size() for p in model.backbones.parameters())
    assert adapter_bytes < backbone_bytes  # so a full state dict could not pass for an adapter
    for step in (2, STEPS):
        folder = tmp_path / f"checkpoint-{step}"
        names = {p.name for p in folder.iterdir()}
        assert "adapter_model.safetensors" in names and "adapter_config.json" in names
        assert not names & {"model.safetensors", "pytorch_model.bin", "model.safetensors.index.json"}
        assert [n for n in names if n.endswith(".safetensors")] == ["adapter_model.safetensors"]
        weights = folder / "adapter_model.safetensors"
        with safe_open(str(weights), "pt") as f:
            assert set(f.keys()) == set(adapter)
        assert tensor_bytes(weights) == adapter_bytes
        # the optimizer's moments cover the adapter's parameters only
        optim = torch.load(folder / "optimizer.pt", weights_only=True)
        moments = sum(s["exp_avg"].numel() for s in optim["state"].values())
        assert moments == sum(t.numel() for t in adapter.values())
    assert_same(read_adapter_weights(tmp_path / f"checkpoint-{STEPS}"), adapter)


class FirstStep(transformers.TrainerCallback):
    """Records the adapter as the first training step of this run begins."""

    def __init__(self) -> None:
        self.adapter: dict[str, torch.Tensor] | None = None
        self.step: int | None = None

    def on_step_begin(self, args, state, control, model=None, **kw):
        if self.adapter is None:
            self.adapter, self.step = adapter_of(model), state.global_step


@pytest.mark.parametrize("pair", PAIRS)
def test_resuming_starts_from_the_checkpoint_adapter_and_ends_where_an_uninterrupted_run_ends(pair, tmp_path):
    model, a_shape, v_shape = fresh(pair)
    trainer(model, a_shape, v_shape, tmp_path / "a").train()
    uninterrupted = adapter_of(model)

    resumed, _, _ = fresh(pair)
    first = FirstStep()
    run = trainer(resumed, a_shape, v_shape, tmp_path / "b", callbacks=[first])
    assert not torch.equal(adapter_of(resumed)["head.classifier.weight"], uninterrupted["head.classifier.weight"])
    run.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-2"))
    assert first.step == 2
    assert_same(first.adapter, read_adapter_weights(tmp_path / "a" / "checkpoint-2"))
    assert run.state.global_step == STEPS
    assert_same(adapter_of(resumed), uninterrupted)


@pytest.mark.parametrize("pair", PAIRS)
def test_load_best_model_at_end_leaves_the_best_checkpoints_adapter(pair, tmp_path):
    model, a_shape, v_shape = fresh(pair)
    calls = []

    def score(prediction):  # best at the first evaluation (step 2), so the best is not simply the last
        assert prediction.predictions.shape == (4, CLASSES) and prediction.label_ids.shape == (4,)
        calls.append(1)
        return {"score": -float(len(calls))}

    run = trainer(
        model,
        a_shape,
        v_shape,
        tmp_path,
        eval_strategy="steps",
        eval_steps=2,
        load_best_model_at_end=True,
        metric_for_best_model="score",
        greater_is_better=True,
        compute_metrics=score,
    )
    run.train()
    assert Path(run.state.best_model_checkpoint).name == "checkpoint-2"
    best, last = (read_adapter_weights(tmp_path / f"checkpoint-{s}") for s in (2, STEPS))
    assert_same(adapter_of(model), best)
    assert any(not torch.equal(best[k], last[k]) for k in best)
    # the evaluation computed the loss too: the Trainer knows where the labels are
    evals = [h for h in run.state.log_history if "eval_score" in h]
    assert [h["step"] for h in evals] == [2, STEPS] and all(h["eval_loss"] > 0 for h in evals)


# ---- save_pretrained / from_pretrained ---------------------------------------------------------------------------
@pytest.mark.parametrize("pair", PAIRS)
def test_save_model_then_from_pretrained_into_fresh_backbones_gives_identical_logits(pair, tmp_path):
    model, a_shape, v_shape = fresh(pair)
    run = trainer(model, a_shape, v_shape, tmp_path / "run", save_strategy="no")
    run.train()
    run.save_model(str(tmp_path / "final"))
    model.eval()
    video, audio = make_inputs(a_shape, v_shape, n=2, t=FRAMES, seed=7)
    with torch.no_grad():
        logits = model(video=video, audio=audio)
    audio_vit, video_vit, _, _ = make_pair(pair)
    reloaded = MultimodalAdapterModel.from_pretrained(tmp_path / "final", audio=audio_vit, video=video_vit).eval()
    with torch.no_grad():
        assert torch.equal(reloaded(video=video, audio=audio), logits)
    assert not (tmp_path / "final" / "model.safetensors").exists()


@pytest.mark.parametrize("lora", [None, {"rank": 2, "alpha": 4, "dropout": 0.0, "targets": "attention"}])
def test_save_pretrained_takes_the_adapter_out_of_a_full_state_dict(lora, tmp_path):
    """Found by the parameters themselves: tuned positional tables (also in a backbone's slot) and LoRA weights
    (inside the backbones, under PEFT's names) included."""
    audio, video, _, _ = make_pair("timm+timm")
    model = wrap(audio, video, num_classes=CLASSES, backbone_lora=lora)
    assert any(k.startswith("backbone_lora.") for k in model.adapter_state_dict()) == (lora is not None)
    with torch.no_grad():
        for p in model.adapter_parameters():
            p.add_(torch.randn_like(p))
    full = {k: v.clone() for k, v in model.state_dict().items()}
    model.save_pretrained(tmp_path / "given", state_dict=full)
    model.save_pretrained(tmp_path / "own")
    assert_same(read_adapter_weights(tmp_path / "given"), read_adapter_weights(tmp_path / "own"))
    # the given tensors are the ones written, not the model's
    key = "head.classifier.weight"
    full[key] = torch.zeros_like(full[key])
    model.save_pretrained(tmp_path / "zeros", state_dict=full)
    assert torch.equal(read_adapter_weights(tmp_path / "zeros")[key], full[key])


def test_save_pretrained_refuses_what_an_adapter_cannot_honour_and_skips_other_ranks(tmp_path):
    model, _, _ = fresh("timm+timm")
    with pytest.raises(ConfigError, match="safetensors"):
        model.save_pretrained(tmp_path / "a", safe_serialization=False)
    with pytest.raises(ConfigError, match="push_to_hub"):
        model.save_pretrained(tmp_path / "a", push_to_hub=True)
    partial = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
    with pytest.raises(CheckpointError, match=r"lacks adapter tensors head\."):
        model.save_pretrained(tmp_path / "a", state_dict=partial)
    assert model.save_pretrained(tmp_path / "other-rank", is_main_process=False) == tmp_path / "other-rank"
    assert not (tmp_path / "other-rank").exists() and not (tmp_path / "a").exists()
    model.save_pretrained(tmp_path / "a", max_shard_size="5GB", variant=None)  # sharding knobs do not apply
    assert json.loads((tmp_path / "a" / "adapter_config.json").read_text())["num_tensors"] == len(
        model.adapter_state_dict()
    )


# ---- the loss --------------------------------------------------------------------------------------------------
def batch_of(a_shape, v_shape, n: int = BATCH) -> dict[str, torch.Tensor]:
    video, audio = make_inputs(a_shape, v_shape, n=n, t=FRAMES, seed=3)
    return {"video": video, "audio": audio, "labels": torch.arange(n) % CLASSES}


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_the_loss_is_cross_entropy_of_the_logits_with_the_trainers_label_smoothing(smoothing, tmp_path):
    model, a_shape, v_shape = fresh("timm+timm")
    run = trainer(model, a_shape, v_shape, tmp_path, label_smoothing_factor=smoothing)
    batch = batch_of(a_shape, v_shape)
    with torch.no_grad():
        loss, outputs = run.compute_loss(model, dict(batch), return_outputs=True)
        logits = model(video=batch["video"], audio=batch["audio"])
    assert torch.equal(outputs["logits"], logits)
    expected = F.cross_entropy(logits, batch["labels"], label_smoothing=smoothing)
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)


class Gradients(transformers.TrainerCallback):
    """Records the adapter's gradients just before the (first) optimizer step."""

    def __init__(self) -> None:
        self.grads: dict[str, torch.Tensor] = {}

    def on_pre_optimizer_step(self, args, state, control, model=None, **kw):
        self.grads = {n: p.grad.clone() for n, p in model.adapter_named_parameters()}


def test_gradient_accumulation_scales_the_mean_loss_like_one_larger_batch(tmp_path):
    """Two accumulated batches of one clip make the gradients of one batch of two; a loss treated as already
    normalised over the accumulated batch (``num_items_in_batch``) would double them."""
    grads = {}
    for name, kw in {
        "one": {},
        "accumulated": {"per_device_train_batch_size": 1, "gradient_accumulation_steps": 2},
    }.items():
        model, a_shape, v_shape = fresh("timm+timm")
        grab = Gradients()
        run = trainer(
            model, a_shape, v_shape, tmp_path / name, save_strategy="no", max_steps=1, max_grad_norm=0.0, **kw
        )  # no clipping: it would hide a scale
        run.add_callback(grab)
        run.train()
        grads[name] = grab.grads
    assert grads["one"]
    for k, g in grads["one"].items():
        torch.testing.assert_close(grads["accumulated"][k], g, rtol=1e-4, atol=1e-6)


def test_batch_loss_and_split_batch_map_a_dict_batch_to_the_model():
    model, a_shape, v_shape = fresh("timm+timm")
    batch = batch_of(a_shape, v_shape)
    with torch.no_grad():
        loss, logits = batch_loss(model, batch, label_key="labels")
        assert torch.equal(logits, model(video=batch["video"], audio=batch["audio"]))
    assert torch.equal(loss, F.cross_entropy(logits, batch["labels"]))
    inputs, labels = split_batch(batch, "labels")
    assert set(inputs) == {"video", "audio"} and labels is batch["labels"]
    with pytest.raises(InputShapeError, match=r"no labels under 'label'; its keys are \['audio', 'labels', 'video'\]"):
        split_batch(batch)
    with pytest.raises(InputShapeError, match=r"unexpected \['clip_id'\]"):
        batch_loss(model, {**batch, "clip_id": torch.arange(BATCH)}, label_key="labels")


@given(keys=st.sets(st.text("abcdefgh_", min_size=1, max_size=6), min_size=1, max_size=6), data=st.data())
def test_split_batch_hands_every_key_but_the_label_to_the_model(keys, data):
    label = data.draw(st.sampled_from(sorted(keys)))
    batch = {k: torch.tensor([i]) for i, k in enumerate(sorted(keys))}
    inputs, labels = split_batch(batch, label)
    assert set(inputs) == keys - {label} and labels is batch[label]
    assert all(inputs[k] is batch[k] for k in inputs)


# ---- refusals and the import -------------------------------------------------------------------------------------
def test_the_trainer_refuses_another_model_several_label_keys_and_activation_checkpointing(tmp_path):
    with pytest.raises(ConfigError, match="trains a MultimodalAdapterModel, got Linear"):
        AdapterTrainer(torch.nn.Linear(2, 2), arguments(tmp_path))
    model, _, _ = fresh("timm+timm")
    with pytest.raises(ConfigError, match=r"one label key, got label_names=\['a', 'b'\]"):
        AdapterTrainer(model, arguments(tmp_path, label_names=["a", "b"]))
    with pytest.raises(ConfigError, match=r"model.set_grad_checkpointing\(True\) instead"):
        AdapterTrainer(model, arguments(tmp_path, activation_checkpointing=True))


def test_importing_the_integrations_package_does_not_import_transformers():
    code = "import sys, mmadapt.integrations; print('transformers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
