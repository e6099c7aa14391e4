"""Prompt injector (VPT-style on one ViT, or inside the multimodal wrapper)."""

from .config import PromptConfig
from .layer import PromptedViT, PromptInjector, attach_prompts

__all__ = ["PromptConfig", "PromptInjector", "PromptedViT", "attach_prompts"]
