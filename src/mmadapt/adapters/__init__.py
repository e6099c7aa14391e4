"""The three adapter kinds, each in its own folder with its config beside it."""

from .fusion import FusionBottleneck, FusionConfig
from .prompts import PromptConfig, PromptedViT, PromptInjector, attach_prompts
from .temporal import TemporalHead, TemporalHeadConfig

__all__ = [
    "FusionBottleneck",
    "FusionConfig",
    "PromptConfig",
    "PromptInjector",
    "PromptedViT",
    "TemporalHead",
    "TemporalHeadConfig",
    "attach_prompts",
]
