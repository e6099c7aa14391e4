"""The MMA-DFER preset (CVPR-W 2024) and the paper's Table-4 ablations, registered under ``mma-dfer*``.

The method's numbers live here, not in the toolkit's defaults: 7 classes (DFEW), 6 prompts with two
progressive updates, a 128-wide fusion bottleneck at every block, and a temporal transformer over up to 16
frames. Which blocks get fused and where the prompts are updated the core derives from the backbones' depths.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...adapters import MeanBottleneckConfig, PromptConfig, TemporalHeadConfig
from ...anatomy import Anatomy
from ...config import MultimodalConfig
from ...presets import PresetFn, register_preset

__all__ = ["TABLE4", "mma_dfer_config"]


def mma_dfer_config(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
    """MMA-DFER (CVPR-W 2024): prompts with two progressive updates, fusion at every block, temporal transformer."""
    return MultimodalConfig(
        num_classes=7,
        prompts=PromptConfig(num_prompts=6, progressive=True, num_updates=2),
        fusion=MeanBottleneckConfig(latent_dim=128),
        head=TemporalHeadConfig(dim=512, depth=1, heads=8, dim_head=64, mlp_dim=1024, max_frames=16),
    )


def _ablation(description: str, prompts: bool, progressive: bool, temporal: bool, fusion: bool) -> PresetFn:
    def fn(anatomies: Mapping[str, Anatomy]) -> MultimodalConfig:
        c = mma_dfer_config(anatomies)
        return c.with_overrides(
            prompts=c.prompts.replace(progressive=progressive) if prompts else None,
            fusion=c.fusion if fusion else None,
            head=c.head.replace(use_transformer=temporal),
        )

    fn.__doc__ = description
    return fn


TABLE4: dict[str, tuple[str, bool, bool, bool, bool]] = {
    "mma-dfer-plain": ("no prompts, no temporal transformer, no fusion (- - - -)", False, False, False, False),
    "mma-dfer-prompts-only": ("static prompts only (+ - - -)", True, False, False, False),
    "mma-dfer-progressive-only": ("progressive prompts only (+ + - -)", True, True, False, False),
    "mma-dfer-no-fusion": ("no fusion bottleneck (+ + + -)", True, True, True, False),
    "mma-dfer-no-temporal": ("no temporal transformer: mean over frames (+ + - +)", True, True, False, True),
    "mma-dfer-no-prompts": ("no prompts (- - + +)", False, False, True, True),
    "mma-dfer-static-prompts": ("prompts without progressive updates (+ - + +)", True, False, True, True),
}
"""Table 4 of the paper: preset name -> (description, Pr, Pr.Pr., MTT, FB), i.e. whether prompts, progressive
prompts, the temporal transformer and the fusion bottleneck are on."""

register_preset("mma-dfer", mma_dfer_config, paper_params_m=7.5, paper_ref="MMA-DFER §4.2, Table 6 (d=128)")
for _name, (_desc, *_flags) in TABLE4.items():
    register_preset(_name, _ablation(_desc, *_flags))
