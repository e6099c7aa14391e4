"""Prompt kinds: learnable tokens injected into one stream's encoder, one file per kind."""

from .progressive import PromptConfig, PromptInjector
from .single_vit import PromptedViT, attach_prompts

__all__ = ["PromptConfig", "PromptInjector", "PromptedViT", "attach_prompts"]
