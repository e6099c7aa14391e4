"""Hugging Face ``Trainer``: train the adapters of two tiny random ViTs on the synthetic demo clips for one epoch
with :class:`mmadapt.integrations.AdapterTrainer`, whose checkpoints hold the adapter alone, keep the best
checkpoint's adapter (``load_best_model_at_end``), save it, reload it into fresh backbones and check the logits.

Offline, CPU, well under a minute. The clips are real mp4 files read by the recipe's dataset; the Trainer's
default collator turns the items' ``label`` into the ``labels`` it expects.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
from transformers import TrainingArguments, default_data_collator

import mmadapt
from mmadapt.data import VideoManifestDataset
from mmadapt.demo import (
    SYNTHETIC_CLASSES,
    DemoConfig,
    SyntheticConfig,
    demo_data_config,
    demo_model_config,
    make_backbones,
    make_synthetic_dataset,
)
from mmadapt.integrations import AdapterTrainer

TINY = DemoConfig(
    n_per_class=4,
    img_size=32,
    num_frames=4,
    audio_frames=32,
    mel_bins=16,
    width=32,
    depth=2,
    heads=2,
    video_patch=8,
    audio_patch=8,
    batch_size=4,
    lr=3e-3,
    adapter_overrides={
        "prompts": {"num_prompts": 2},
        "fusion": {"latent_dim": 8},
        "head": {"dim": 32, "heads": 2, "dim_head": 16, "mlp_dim": 64},
    },
)
"""The demo's pipeline at test size: 32 px frames, 32 x 16 spectrograms, two blocks of width 32."""


def folder_bytes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())}


def main() -> None:
    torch.manual_seed(TINY.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clips = SyntheticConfig(size=TINY.img_size, fps=8, seconds=1.0, nuisance=TINY.nuisance)
        data = make_synthetic_dataset(root / "data", n_per_class=TINY.n_per_class, seed=TINY.seed, config=clips)
        data_cfg = demo_data_config(TINY)
        train_set = VideoManifestDataset(data.train_manifest, data_cfg, class_names=SYNTHETIC_CLASSES)
        test_set = VideoManifestDataset(data.test_manifest, data_cfg, class_names=SYNTHETIC_CLASSES)

        audio_vit, video_vit = make_backbones(TINY)  # random weights: the point is the plumbing
        pristine = {"audio": copy.deepcopy(audio_vit), "video": copy.deepcopy(video_vit)}
        config = demo_model_config("mma-dfer", audio_vit, video_vit, TINY)
        model = mmadapt.wrap_encoders(audio_vit, video_vit, preset=config)
        model.print_trainable_parameters()

        args = TrainingArguments(
            str(root / "run"),
            num_train_epochs=1,
            per_device_train_batch_size=TINY.batch_size,
            per_device_eval_batch_size=TINY.batch_size,
            learning_rate=TINY.lr,
            eval_strategy="steps",
            save_strategy="steps",
            eval_steps=2,
            save_steps=2,
            load_best_model_at_end=True,  # by eval_loss
            logging_steps=1,
            use_cpu=True,
            report_to="none",
            disable_tqdm=True,
            seed=TINY.seed,
        )
        trainer = AdapterTrainer(
            model, args, train_dataset=train_set, eval_dataset=test_set, data_collator=default_data_collator
        )
        trainer.train()
        best = Path(trainer.state.best_model_checkpoint)
        backbone_bytes = sum(p.numel() * p.element_size() for p in model.backbones.parameters())
        print(f"best checkpoint {best.name}: {folder_bytes(best)} (backbones: {backbone_bytes} bytes, not saved)")

        trainer.save_model(str(root / "adapter"))
        batch = default_data_collator([test_set[i] for i in range(len(test_set))])
        inputs = {s: batch[s] for s in model.stream_names}
        model.eval()
        with torch.no_grad():
            logits = model(**inputs)
        reloaded = mmadapt.MultimodalAdapterModel.from_pretrained(root / "adapter", pristine).eval()
        with torch.no_grad():
            same = torch.equal(reloaded(**inputs), logits)
    print(f"reloaded into fresh backbones, identical logits: {same}")
    if not same:
        raise SystemExit("reloaded adapter gave different logits")


if __name__ == "__main__":
    main()
