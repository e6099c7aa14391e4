"""Prompt kinds: learnable tokens injected into one stream's encoder, one file per kind."""

from .progressive import PromptConfig, PromptInjector
from .single_vit import PromptedViT, attach_prompts
from .vpt_deep import VPTDeepConfig, VPTDeepPrompts

__all__ = ["PromptConfig", "PromptInjector", "PromptedViT", "VPTDeepConfig", "VPTDeepPrompts", "attach_prompts"]
