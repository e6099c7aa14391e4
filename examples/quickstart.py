"""Quickstart: wrap two small timm ViTs with the MMA-DFER adapters, train a few steps on random clips, save the
adapter, reload it into fresh backbones and check the logits are identical. Runs offline on a CPU in seconds."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
from timm.models.vision_transformer import VisionTransformer

import mmadapt


def small_vit(in_chans: int, img_size: tuple[int, int]) -> VisionTransformer:
    return VisionTransformer(
        img_size=img_size, patch_size=16, in_chans=in_chans, embed_dim=192, depth=6, num_heads=3, num_classes=0
    )


def main() -> None:
    torch.manual_seed(0)
    audio_vit = small_vit(1, (256, 128))  # spectrogram: 256 frames x 128 mel bins
    video_vit = small_vit(3, (112, 112))
    pristine_audio, pristine_video = copy.deepcopy(audio_vit), copy.deepcopy(video_vit)

    model = mmadapt.wrap_encoders(audio_vit, video_vit, preset="mma-dfer", num_classes=7, head={"max_frames": 8})
    model.print_trainable_parameters()

    clips, frames = 4, 8
    video = torch.rand(clips, frames, 3, 112, 112)
    audio = torch.randn(clips, 1, 256, 128)
    labels = torch.randint(0, 7, (clips,))
    opt = torch.optim.AdamW(model.adapter_parameters(), lr=1e-4, weight_decay=1e-2)
    model.train()
    for step in range(5):
        loss = torch.nn.functional.cross_entropy(model(video, audio), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {step}: loss {loss.item():.4f}")

    model.eval()
    with torch.no_grad():
        logits = model(video, audio)
    with tempfile.TemporaryDirectory() as tmp:
        out = model.save_adapter(Path(tmp) / "adapter")
        sizes = {p.name: p.stat().st_size for p in out.iterdir()}
        print(f"saved adapter: {sizes}")
        reloaded = mmadapt.MultimodalAdapterModel.from_pretrained(out, pristine_audio, pristine_video).eval()
        with torch.no_grad():
            same = torch.equal(reloaded(video, audio), logits)
    print(f"reloaded into fresh backbones, identical logits: {same}")
    if not same:
        raise SystemExit("reloaded adapter gave different logits")


if __name__ == "__main__":
    main()
