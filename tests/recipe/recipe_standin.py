"""Tiny stand-ins for the recipe tests: a two-backbone model with frozen random backbones and a few
trainable adapter parts (dropout included, so RNG restoration matters), and a labelled clip dataset of
``{"video", "audio", "label"}`` items. The model is not an mmadapt model: it meets the recipe's
``StreamModel`` protocol only (named streams, called by keyword, adapter state dicts).

Shape legend: B batch, T frames, C channels, S frame size, F time bins, M mel bins, D width, K classes.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from mmadapt.recipe.protocols import LABEL_KEY

T, C, S, F, M = 2, 3, 4, 8, 4
NUM_CLASSES = 3


class _Layout:
    def __init__(self, per_frame: bool) -> None:
        self.per_frame = per_frame


class TinyAVModel(nn.Module):
    """Frozen `backbones` (video, audio); trainable `pos`, `fusion`, `head`."""

    def __init__(self, num_classes: int = NUM_CLASSES, dim: int = 8, dropout: float = 0.2) -> None:
        super().__init__()
        self.backbones = nn.ModuleDict({"video": nn.Linear(C * S * S, dim), "audio": nn.Linear(F * M, dim)})
        for p in [*self.backbones["video"].parameters(), *self.backbones["audio"].parameters()]:
            p.requires_grad_(False)
        self.pos = nn.Parameter(torch.zeros(T, dim))
        self.fusion = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, num_classes)
        self.grad_checkpointing = False

    stream_names = ("video", "audio")
    streams = {"video": _Layout(True), "audio": _Layout(False)}

    def forward(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        v = self.backbones["video"](video.flatten(2)) + self.pos  # (B, T, D)
        a = self.backbones["audio"](audio.flatten(1))  # (B, D)
        z = (v + a[:, None]).mean(dim=1)  # (B, D)
        z = self.dropout(torch.nn.functional.gelu(self.fusion(z)))
        return self.head(z)  # (B, K)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.named_parameters() if p.requires_grad}

    def load_adapter_state_dict(self, sd: dict[str, torch.Tensor], strict: bool = True) -> None:
        own = dict(self.named_parameters())
        expected = {n for n, p in own.items() if p.requires_grad}
        if strict and set(sd) != expected:
            raise KeyError(f"adapter keys differ: missing {expected - set(sd)}, unexpected {set(sd) - expected}")
        with torch.no_grad():
            for name, value in sd.items():
                own[name].copy_(value)

    def save_adapter(self, directory: str | os.PathLike[str]) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        torch.save(self.adapter_state_dict(), Path(directory) / "adapter.pt")

    def frozen_state(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.named_parameters() if not p.requires_grad}


def make_model(seed: int = 0, **kwargs: float) -> TinyAVModel:
    torch.manual_seed(seed)
    return TinyAVModel(**kwargs)  # type: ignore[arg-type]


class ClipSet(torch.utils.data.Dataset):
    """`n` clips whose label is learnable from the audio mean; `stats` mimics the real datasets'."""

    def __init__(self, n: int, seed: int = 0, views: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, NUM_CLASSES, (n,), generator=g)
        shape = (n, views, T, C, S, S) if views else (n, T, C, S, S)
        self.video = torch.randn(shape, generator=g)
        self.audio = torch.randn(n, 1, F, M, generator=g) + self.labels.view(n, 1, 1, 1).float()
        self.stats = {"clips": n, "zero_audio": 1}

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        return {"video": self.video[i], "audio": self.audio[i], LABEL_KEY: int(self.labels[i])}


def adapter_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return model.adapter_state_dict()  # type: ignore[operator]
