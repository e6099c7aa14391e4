"""Three encoders: an audio ViT, a video ViT and a third per-frame ViT on another view of the frames (here frame
differences, a cheap stand-in for optical flow), fused three ways by the MMA-DFER adapters. Trains a few steps on
random clips, saves the adapter, reloads it into fresh backbones and checks the logits. Offline, CPU, seconds.

The third backbone is a Hugging Face ViT while the others are timm: streams are named, each brings its own family.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
from timm.models.vision_transformer import VisionTransformer
from transformers import ViTConfig, ViTModel

import mmadapt


def timm_vit(in_chans: int, img_size: tuple[int, int], depth: int) -> VisionTransformer:
    return VisionTransformer(
        img_size=img_size, patch_size=16, in_chans=in_chans, embed_dim=96, depth=depth, num_heads=3, num_classes=0
    )


def hf_vit(img_size: int, depth: int) -> ViTModel:
    cfg = ViTConfig(
        hidden_size=64,
        num_hidden_layers=depth,
        num_attention_heads=2,
        intermediate_size=128,
        image_size=img_size,
        patch_size=16,
        num_channels=3,
    )
    return ViTModel(cfg, add_pooling_layer=False)


def frame_differences(video: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, T, C, H, W): x_t - x_{t-1}, zero for the first frame."""
    return torch.cat([torch.zeros_like(video[:, :1]), video.diff(dim=1)], dim=1)


def main() -> None:
    torch.manual_seed(0)
    backbones = {
        "audio": timm_vit(1, (128, 64), depth=4),  # spectrogram: 128 frames x 64 mel bins, once per clip
        "video": timm_vit(3, (64, 64), depth=4),  # applied to every frame
        "flow": hf_vit(64, depth=2),  # a shallower encoder: fused at proportional depths
    }
    pristine = {name: copy.deepcopy(b) for name, b in backbones.items()}

    model = mmadapt.wrap_encoders(
        backbones,
        preset="mma-dfer",
        num_classes=7,
        frames={"video", "flow"},
        head={"dim": 96, "mlp_dim": 192, "max_frames": 4},
    )
    model.print_trainable_parameters()
    print("fused layers:", model.fused_layers)

    clips, frames = 4, 4
    video = torch.rand(clips, frames, 3, 64, 64)
    inputs = {"audio": torch.randn(clips, 1, 128, 64), "video": video, "flow": frame_differences(video)}
    labels = torch.randint(0, 7, (clips,))
    opt = torch.optim.AdamW(model.adapter_parameters(), lr=1e-3, weight_decay=1e-2)
    model.train()
    for step in range(5):
        loss = torch.nn.functional.cross_entropy(model(**inputs), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        print(f"step {step}: loss {loss.item():.4f}")

    model.eval()
    with torch.no_grad():
        logits = model(**inputs)
    with tempfile.TemporaryDirectory() as tmp:
        out = model.save_adapter(Path(tmp) / "adapter")
        reloaded = mmadapt.MultimodalAdapterModel.from_pretrained(out, pristine).eval()
        with torch.no_grad():
            same = torch.equal(reloaded(**inputs), logits)
    print(f"reloaded into fresh backbones, identical logits: {same}")
    if not same:
        raise SystemExit("reloaded adapter gave different logits")


if __name__ == "__main__":
    main()
