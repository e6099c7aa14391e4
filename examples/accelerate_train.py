"""``accelerate``: the same one-epoch adapter training as ``hf_trainer.py`` as a hand-written loop, with
``Accelerator().prepare`` / ``accelerator.backward``; saves the adapter alone from the main process, reloads it into
fresh backbones and checks the logits.

Offline, CPU, well under a minute. The same script runs on several processes (``torchrun --nproc-per-node 2
examples/accelerate_train.py``, or ``accelerate launch``): ``prepare`` shards the loader and wraps the model in DDP,
:func:`mmadapt.integrations.batch_loss` calls the wrapped model with the batch's streams by name, and the main
process alone saves and checks the adapter.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

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
from mmadapt.integrations import batch_loss

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


def main() -> None:
    accelerator = Accelerator(cpu=True)  # drop cpu=True to use the GPUs `accelerate launch` gives
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
        model = mmadapt.wrap_encoders(
            audio_vit, video_vit, preset=demo_model_config("mma-dfer", audio_vit, video_vit, TINY)
        )
        optimizer = torch.optim.AdamW(model.adapter_parameters(), lr=TINY.lr)
        loader = DataLoader(train_set, batch_size=TINY.batch_size, shuffle=True)  # items' "label" stays "label"
        model, optimizer, loader = accelerator.prepare(model, optimizer, loader)

        model.train()
        for step, batch in enumerate(loader):  # one epoch
            loss, _ = batch_loss(model, batch)
            optimizer.zero_grad()
            accelerator.backward(loss)
            optimizer.step()
            accelerator.print(f"step {step}: loss {loss.item():.4f}")

        if not accelerator.is_main_process:  # one process writes and checks the adapter
            return
        adapter = accelerator.unwrap_model(model).save_pretrained(root / "adapter")
        trained = accelerator.unwrap_model(model).eval()
        batch = next(iter(DataLoader(test_set, batch_size=len(test_set))))
        inputs = {s: batch[s] for s in trained.stream_names}
        with torch.no_grad():
            logits = trained(**inputs)
        reloaded = mmadapt.MultimodalAdapterModel.from_pretrained(adapter, pristine).eval()
        with torch.no_grad():
            same = torch.equal(reloaded(**inputs), logits)
    print(f"reloaded into fresh backbones, identical logits: {same}")
    if not same:
        raise SystemExit("reloaded adapter gave different logits")


if __name__ == "__main__":
    main()
