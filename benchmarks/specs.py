"""Backbone pairs the benchmarks run on (random weights), and the wrapped ``mma-dfer`` model built from them.

Legend: n clips, T frames, C channels, S frame side (px), F spectrogram frames, M mel bins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from benchmarks._bootstrap import ensure_mmadapt

ensure_mmadapt()

import mmadapt  # noqa: E402
from mmadapt.backbones import audiomae_vit_base, maeface_vit_base  # noqa: E402


@dataclass(frozen=True)
class PairSpec:
    """Two timm ViTs of one size (audio over a spectrogram, video over frames) plus the head to put on them."""

    name: str
    embed_dim: int = 768
    """Token width of both encoders."""
    depth: int = 12
    """Blocks per encoder."""
    num_heads: int = 12
    """Attention heads per block."""
    spectrogram: tuple[int, int] = (512, 128)
    """Audio input (frames F, mel bins M), as the MMA-DFER recipe feeds AudioMAE."""
    head: dict[str, Any] = field(default_factory=dict)
    """Temporal-head overrides of the preset (empty = the preset's head)."""
    description: str = ""

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            raise ValueError(f"{self.name}: embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")


SPECS: dict[str, PairSpec] = {
    spec.name: spec
    for spec in (
        PairSpec("vitb", description="two ViT-B/16 (AudioMAE + MAE-Face shapes), the paper's setting"),
        PairSpec("small", embed_dim=384, num_heads=6, description="two ViT-S/16, 12 blocks, same token counts"),
        PairSpec(
            "tiny",
            embed_dim=32,
            depth=2,
            num_heads=2,
            spectrogram=(64, 32),
            head={"dim": 32, "heads": 2, "dim_head": 16, "mlp_dim": 64},
            description="width 32, 2 blocks, 64x32 spectrogram: smoke tests only",
        ),
    )
}


def build_model(
    spec: PairSpec, size: int, frames: int, device: str | torch.device = "cpu", seed: int = 0
) -> mmadapt.MultimodalAdapterModel:
    """The ``mma-dfer`` preset on a random-weight pair for ``size`` px frames (drop path off: timing only)."""
    arch = {"embed_dim": spec.embed_dim, "depth": spec.depth, "num_heads": spec.num_heads, "drop_path_rate": 0.0}
    head = dict(spec.head)
    head["max_frames"] = max(head.get("max_frames", 16), frames)  # the temporal table must cover T
    torch.manual_seed(seed)
    with torch.device(device):
        frames_, mels = spec.spectrogram
        audio = audiomae_vit_base(frames=frames_, mel_bins=mels, **arch).model
        video = maeface_vit_base(img_size=size, **arch).model
        return mmadapt.wrap_encoders(audio, video, preset="mma-dfer", head=head)


def make_batch(
    model: mmadapt.MultimodalAdapterModel, batch: int, frames: int, device: torch.device, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (video (n, T, C, S, S), audio (n, 1, F, M), labels (n,)) at the model's attached sizes."""
    ident = model.backbone_identity()
    g = torch.Generator(device="cpu").manual_seed(seed)
    v, a = ident["video"], ident["audio"]
    video = torch.randn(batch, frames, v["in_chans"], *v["input_size"], generator=g)
    audio = torch.randn(batch, a["in_chans"], *a["input_size"], generator=g)
    labels = torch.randint(0, model.config.num_classes, (batch,), generator=g)
    return video.to(device), audio.to(device), labels.to(device)
