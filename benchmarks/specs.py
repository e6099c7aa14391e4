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
from mmadapt.methods.mma_dfer import audiomae_vit_base, maeface_vit_base  # noqa: E402


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
            depth=4,
            num_heads=2,
            spectrogram=(64, 32),
            head={"dim": 32, "heads": 2, "dim_head": 16, "mlp_dim": 64},
            description="width 32, 4 blocks, 64x32 spectrogram: smoke tests only",
        ),
    )
}


BACKBONE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
"""``--backbone-dtype`` choices: the frozen backbones' weight dtype (the adapters stay fp32)."""


def build_model(
    spec: PairSpec,
    size: int,
    frames: int,
    device: str | torch.device = "cpu",
    seed: int = 0,
    backbone_dtype: str = "fp32",
    preset: str = "mma-dfer",
    **overrides: Any,
) -> mmadapt.MultimodalAdapterModel:
    """``preset`` (default ``mma-dfer``) on a fresh random-weight pair for ``size`` px frames (drop path off: timing
    only); the same ``seed`` gives the same backbones whatever the preset; ``backbone_dtype`` 'bf16' casts the
    frozen backbones (a bf16 residual stream under fp32 adapters); ``overrides`` go to ``wrap_encoders`` (e.g.
    ``fusion=None``)."""
    arch = {"embed_dim": spec.embed_dim, "depth": spec.depth, "num_heads": spec.num_heads, "drop_path_rate": 0.0}
    head = dict(spec.head)
    head["max_frames"] = max(head.get("max_frames", 16), frames)  # the temporal table must cover T
    torch.manual_seed(seed)
    with torch.device(device):
        frames_, mels = spec.spectrogram
        audio = audiomae_vit_base(frames=frames_, mel_bins=mels, **arch).model
        video = maeface_vit_base(img_size=size, **arch).model
        model = mmadapt.wrap_encoders(audio, video, preset=preset, head=head, **overrides)
    return model.cast_backbones(BACKBONE_DTYPES[backbone_dtype])


def make_batch(
    model: mmadapt.MultimodalAdapterModel, batch: int, frames: int, device: torch.device, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (video (n, T, C, S, S), audio (n, 1, F, M), labels (n,)) at the model's attached sizes."""
    ident = model.backbone_identity()
    device = torch.device(device)
    g = torch.Generator(device=device).manual_seed(seed)  # drawn where they are used: no host copy
    v, a = ident["video"], ident["audio"]
    video = torch.randn(batch, frames, v["in_chans"], *v["input_size"], generator=g, device=device)
    audio = torch.randn(batch, a["in_chans"], *a["input_size"], generator=g, device=device)
    labels = torch.randint(0, model.config.num_classes, (batch,), generator=g, device=device)
    return video, audio, labels


@torch.no_grad()
def randomise(model: mmadapt.MultimodalAdapterModel, seed: int = 0) -> None:
    """Make every path of a random model matter, for correctness checks.

    timm's initialisation (weights std 0.02, CLS token std 1e-6) leaves the pooled CLS nearly independent of the
    other tokens, so prompts, fusion and even the input barely move the logits and a comparison of logits would
    pass whatever those paths computed. Here the backbones' linear maps get std in_features**-0.5, CLS tokens std
    1, the gates +-0.8 and every adapter tensor some noise.
    """
    g = torch.Generator().manual_seed(seed)

    def normal_(t: torch.Tensor, std: float) -> None:
        t.copy_(torch.randn(t.shape, generator=g) * std)

    for vit in (model.backbones["audio"], model.backbones["video"]):
        for m in vit.modules():
            if isinstance(m, torch.nn.Linear):
                normal_(m.weight, m.in_features**-0.5)
        normal_(vit.cls_token, 1.0)
    for f in model.fusion:
        f.gate["audio"].copy_(torch.rand(1, generator=g) * 1.6 - 0.8)
        f.gate["video"].copy_(torch.rand(1, generator=g) * 1.6 - 0.8)
    for p in model.adapter_parameters():
        p.add_(torch.randn(p.shape, generator=g) * 0.05)
