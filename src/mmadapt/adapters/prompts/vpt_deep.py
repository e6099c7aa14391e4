"""VPT-deep prompts (kind ``vpt-deep``, Jia et al. 2022, "Visual Prompt Tuning"): fresh learnable tokens at the
input of every block, replacing the previous block's prompt outputs.

Legend: B batch, N tokens (prefix + patches [+ P prompts]), D width, P prompts per block, L blocks.

Unlike MMA-DFER's progressive prompts, which carry one set of tokens through the encoder and add to it, VPT-deep
throws block i's prompt outputs away and feeds block i+1 its own P tokens, so every block learns what it is
shown. The prompts sit after the patch tokens (VPT puts them between CLS and patches; attention does not care
where, and every anatomy already keeps appended tokens out of pooling) and have no positional embedding, as in
VPT. The hooks are :class:`~._hooks.PromptHooks`'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import ConfigError
from ...streams import StreamInfo
from .._config import AdapterConfig
from ..kinds import register_adapter_kind
from ._hooks import PromptHooks

__all__ = ["VPTDeepConfig", "VPTDeepPrompts"]


@dataclass
class VPTDeepConfig(AdapterConfig):
    """P learnable tokens per block and stream, replacing the previous ones at every block's input (VPT-deep)."""

    num_prompts: int = 6
    """Prompt tokens P at each block's input (VPT uses 1-200 depending on the task; MMA-DFER's own M is 6)."""
    init_std: float | None = None
    """Std of the uniform init; ``None`` = width**-0.5, which is VPT's xavier-uniform bound sqrt(6 / (3·patch² +
    D)) / sqrt(3) for ViT-B/16, where 3·16² = D."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_prompts < 1:
            raise ConfigError(f"VPTDeepConfig.num_prompts must be >= 1, got {self.num_prompts}")
        if self.init_std is not None and not self.init_std > 0:
            raise ConfigError(f"VPTDeepConfig.init_std must be > 0 (or None for width**-0.5), got {self.init_std}")


class VPTDeepPrompts(PromptHooks):
    """Owns ``prompts`` (L, P, D): row i is what block i sees in the prompt positions."""

    def __init__(self, config: VPTDeepConfig, stream: StreamInfo) -> None:
        super().__init__(config.num_prompts)
        self.config = config
        self.width = width = stream.width
        # after block i the prompts of block i + 1 come in; after the last block nothing does (stripped next)
        self.schedule = dict.fromkeys(range(stream.depth - 1), config.num_prompts)
        std = config.init_std if config.init_std is not None else width**-0.5
        bound = std * math.sqrt(3.0)  # uniform(-a, a) has std a / sqrt(3)
        self.prompts = nn.Parameter(torch.empty(stream.depth, config.num_prompts, width).uniform_(-bound, bound))

    def _tokens(self, block: int, x: torch.Tensor) -> torch.Tensor:
        """(B, P, D): block ``block``'s prompts for each sample."""
        return self.prompts[block].to(x.dtype).unsqueeze(0).expand(x.shape[0], -1, -1)

    def append(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N + P, D): block 0's prompts after the patch tokens."""
        return torch.cat([x, self._tokens(0, x)], dim=1)

    def update(self, after_block: int, x: torch.Tensor) -> torch.Tensor:
        """(B, N + P, D) -> (B, N + P, D): the prompt outputs of ``after_block`` replaced by the next block's
        prompts."""
        if after_block not in self.schedule:
            return x
        return torch.cat([self.strip(x), self._tokens(after_block + 1, x)], dim=1)


register_adapter_kind("prompts", "vpt-deep", VPTDeepConfig, VPTDeepPrompts)
