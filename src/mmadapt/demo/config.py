"""The demo's sizes and schedule, apart from :mod:`.driver` so that ``mmadapt demo --help`` shows the defaults
without importing torch (``driver`` re-exports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config_base import ConfigBase, require_at_least
from ..errors import ConfigError

__all__ = ["DemoConfig"]


@dataclass
class DemoConfig(ConfigBase):
    """Sizes and schedule of the demo; the defaults train in a few minutes on two CPU cores."""

    out_dir: str = "demo_out"
    n_per_class: int = 48
    """Synthetic clips per class (a quarter goes to the test split)."""
    seed: int = 0
    nuisance: float = 0.3
    """Spread of the synthetic faces' position/colour nuisance (1 = the generator's full spread)."""
    img_size: int = 64
    num_frames: int = 8
    audio_frames: int = 160
    mel_bins: int = 128
    width: int = 64
    depth: int = 4
    heads: int = 4
    video_patch: int = 8
    audio_patch: int = 16
    pretrain_clips: int = 160
    """Clips drawn (from a seed disjoint from the demo's data) for each unimodal pretraining."""
    pretrain_steps: int = 300
    pretrain_lr: float = 1e-3
    epochs: int = 25
    lr: float = 3e-3
    batch_size: int = 8
    presets: tuple[str, ...] = ("mma-dfer",)
    threads: int | None = None
    """torch threads (None: leave torch's default)."""
    adapter_overrides: dict[str, Any] = field(
        default_factory=lambda: {
            "prompts": {"num_prompts": 4},
            "fusion": {"type": "mean-bottleneck", "latent_dim": 16},
            "head": {"dim": 64, "heads": 4, "dim_head": 16, "mlp_dim": 128},
        }
    )
    """Preset overrides sized for the small backbones (a preset's `None` adapters stay off; an override naming a
    ``type`` applies only to presets of that kind: other fusion kinds keep their preset's sizes)."""

    def __post_init__(self) -> None:
        if isinstance(self.presets, list):
            self.presets = tuple(self.presets)
        super().__post_init__()  # type checks by annotation
        require_at_least(self, 4, "n_per_class")
        require_at_least(
            self,
            1,
            "img_size",
            "num_frames",
            "audio_frames",
            "mel_bins",
            "width",
            "depth",
            "heads",
            "video_patch",
            "audio_patch",
            "pretrain_clips",
            "epochs",
            "batch_size",
            "threads",
        )
        require_at_least(self, 0, "pretrain_steps")
        if self.img_size % self.video_patch or self.audio_frames % self.audio_patch or self.mel_bins % self.audio_patch:
            raise ConfigError("DemoConfig: input sizes must be multiples of the patch sizes")
