"""Progressive prompts (kind ``progressive``): learnable tokens appended after the patch tokens of one stream, with
fresh tokens added to consecutive slices of them after scheduled blocks (MMA-DFER §3.1; VPT-shallow when static).

Legend: B batch, N tokens (prefix + patches [+ P prompts]), D width, P prompt tokens.

The injector acts through forward hooks on the backbone's public modules: one on the module whose output feeds
block 0 (append prompts), optionally one per scheduled block (progressive update) and one on the final-norm module
(strip prompts so pooling and ``forward_features`` never see them). ``detach()`` removes every hook. Inside the
multimodal model the lockstep runner calls :meth:`PromptInjector.update` itself, after the block's fusion.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ...anatomy import Anatomy, map_tokens
from ...errors import ConfigError
from ...streams import StreamInfo
from .._config import AdapterConfig
from ..kinds import register_adapter_kind

__all__ = ["PromptConfig", "PromptInjector"]


@dataclass
class PromptConfig(AdapterConfig):
    """Learnable prompt tokens appended after the patch tokens, optionally updated progressively with depth.

    ``schedule`` maps a block index to a number of fresh learnable tokens added (summed) to the next consecutive
    slice of the prompt tokens right after that block, e.g. MMA-DFER on 12 blocks: ``{0: 3, 6: 3}``. Left as
    ``None`` it is derived from the depth: ``num_updates`` updates spread evenly over the blocks, each covering
    ``num_prompts // num_updates`` tokens.
    """

    num_prompts: int = 6
    """Number of prompt tokens M, present from block 0 on."""
    progressive: bool = True
    """Whether progressive updates are applied at all (Table 4 'Pr.' vs 'Pr.Pr.')."""
    schedule: dict[int, int] | None = None
    """``{after_block: n_tokens}``; ``None`` derives it from the backbone depth."""
    num_updates: int = 2
    """Updates spread over depth when ``schedule`` is None (MMA-DFER: after blocks 0 and depth/2)."""
    init_std: float | None = None
    """Std of prompt tokens and progressive tokens; ``None`` = width**-0.5 as the official code."""
    pos_init_std: float = 1.0
    """Std of the prompts' own positional embeddings (the official code draws them from randn, std 1)."""

    def __post_init__(self) -> None:
        super().__post_init__()  # type checks; JSON's string keys of ``schedule`` become ints
        if self.num_prompts < 1:
            raise ConfigError(f"PromptConfig.num_prompts must be >= 1, got {self.num_prompts}")
        if self.num_updates < 0:
            raise ConfigError(f"PromptConfig.num_updates must be >= 0, got {self.num_updates}")
        if self.schedule is not None:
            if any(v < 1 for v in self.schedule.values()) or any(k < 0 for k in self.schedule):
                raise ConfigError(f"PromptConfig.schedule needs block >= 0 and n_tokens >= 1, got {self.schedule}")
            if sum(self.schedule.values()) > self.num_prompts:
                raise ConfigError(
                    f"PromptConfig.schedule adds {sum(self.schedule.values())} tokens but there are only "
                    f"{self.num_prompts} prompt tokens to update"
                )

    def resolve_schedule(self, depth: int) -> dict[int, int]:
        """The ``{after_block: n_tokens}`` schedule for a backbone of ``depth`` blocks."""
        if not self.progressive or self.num_updates == 0 and self.schedule is None:
            return {}
        if self.schedule is not None:
            bad = [k for k in self.schedule if k >= depth]
            if bad:
                raise ConfigError(f"PromptConfig.schedule names blocks {bad} but the backbone has {depth} blocks")
            if depth - 1 in self.schedule:
                warnings.warn(
                    f"PromptConfig.schedule updates prompts after the last block ({depth - 1}); those tokens are "
                    "removed before pooling, so the update has no effect",
                    stacklevel=2,
                )
            return dict(sorted(self.schedule.items()))
        per_update = self.num_prompts // self.num_updates
        if per_update < 1:
            raise ConfigError(
                f"cannot spread {self.num_updates} updates over {self.num_prompts} prompts; give a schedule"
            )
        # an update after the last block could only be stripped again: keep every update before it
        last_useful = max(depth - 2, 0)
        blocks = sorted({min((k * depth) // self.num_updates, last_useful) for k in range(self.num_updates)})
        return {b: per_update for b in blocks}


class PromptInjector(nn.Module):
    """Owns the prompt tokens of one backbone: ``prompts`` (P, D), ``prompt_pos`` (P, D) and one (n_k, D) tensor
    per progressive update."""

    def __init__(self, config: PromptConfig, stream: StreamInfo) -> None:
        super().__init__()
        self.config = config
        self.width = width = stream.width
        self.schedule = config.resolve_schedule(stream.depth)  # {after_block: n_tokens}
        std = config.init_std if config.init_std is not None else width**-0.5
        p = config.num_prompts
        self.prompts = nn.Parameter(torch.randn(p, width) * std)
        self.prompt_pos = nn.Parameter(torch.randn(p, width) * config.pos_init_std)
        self.progressive = nn.ParameterList([nn.Parameter(torch.randn(n, width) * std) for n in self.schedule.values()])
        # consecutive slices of the prompt tokens, one per update, counted from the first prompt token
        self._slices: dict[int, tuple[int, int, int]] = {}
        start = 0
        for k, (block, n) in enumerate(self.schedule.items()):
            self._slices[block] = (k, start, start + n)
            start += n
        self.enabled = True
        self._handles: list[RemovableHandle] = []

    @property
    def num_prompts(self) -> int:
        return self.config.num_prompts

    # ---- the two operations -----------------------------------------------------------------------------
    def append(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N + P, D): prompt tokens (with their positions) after the patch tokens."""
        tokens = (self.prompts + self.prompt_pos).to(x.dtype)  # (P, D), the same for every sample
        return torch.cat([x, tokens.unsqueeze(0).expand(x.shape[0], -1, -1)], dim=1)

    def update(self, after_block: int, x: torch.Tensor) -> torch.Tensor:
        """Add the progressive tokens scheduled after ``after_block`` to their slice of the prompts (out of place)."""
        if after_block not in self._slices:
            return x
        k, lo, hi = self._slices[after_block]
        first = x.shape[1] - self.num_prompts  # index of prompt token 0
        s, e = first + lo, first + hi
        added = x[:, s:e] + self.progressive[k].to(x.dtype)
        return torch.cat([x[:, :s], added, x[:, e:]], dim=1)

    def strip(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N + P, D) -> (B, N, D)."""
        return x[:, : x.shape[1] - self.num_prompts]

    # ---- hooks ------------------------------------------------------------------------------------------
    # Bound methods (or partials of them), never closures: ``copy.deepcopy`` duplicates a bound method together
    # with its injector, so a copied backbone runs on the copy's prompts and ``enabled`` flag.
    def attach(self, anatomy: Anatomy, *, hook_blocks: bool, strip_output: bool) -> None:
        """Hook the injector into ``anatomy``'s backbone.

        ``hook_blocks`` applies progressive updates as block hooks (single-ViT mode); the lockstep runner calls
        ``update`` itself after fusion instead. ``strip_output`` removes the prompts at the final norm.
        """
        if self._handles:
            raise RuntimeError("PromptInjector is already attached; detach() it first")
        self._handles.append(anatomy.embed_output.register_forward_hook(self._append_hook))
        if hook_blocks:
            for b in self.schedule:
                self._handles.append(anatomy.blocks[b].register_forward_hook(partial(self._update_hook, b)))
        if strip_output and anatomy.token_output is not None:
            self._handles.append(anatomy.token_output.register_forward_hook(self._strip_hook))
        self._handles.extend(anatomy.prompt_fixups(self.num_prompts, self.is_enabled))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def is_enabled(self) -> bool:
        return self.enabled

    def _append_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, self.append) if self.enabled else output

    def _update_hook(self, block: int, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, partial(self.update, block)) if self.enabled else output

    def _strip_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, self.strip) if self.enabled else output


register_adapter_kind("prompts", "progressive", PromptConfig, PromptInjector)
