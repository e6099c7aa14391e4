"""Progressive prompts (kind ``progressive``): learnable tokens appended after the patch tokens of one stream, with
fresh tokens added to slices of them after scheduled blocks (MMA-DFER §3.2 eq. (1); VPT-shallow when static).

Legend: B batch, N tokens (prefix + patches [+ P prompts]), D width, P prompt tokens.

The hooks (append at block 0's input, updates, strip at the final norm) are :class:`~._hooks.PromptHooks`'.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from ...errors import ConfigError
from ...streams import StreamInfo
from .._config import AdapterConfig
from ..kinds import register_adapter_kind
from ._hooks import PromptHooks

__all__ = ["PromptConfig", "PromptInjector"]


@dataclass
class PromptConfig(AdapterConfig):
    """Learnable prompt tokens appended after the patch tokens, optionally updated progressively with depth.

    ``schedule`` maps a block index to a number of fresh learnable tokens added (summed) to the next consecutive
    slice of the prompt tokens right after that block, e.g. MMA-DFER on 12 blocks: ``{0: 3, 6: 3}``.

    Left as ``None`` it is derived from the depth D and ``num_updates`` L, generalising eq. (1) (M prompts, L
    updates of M/L tokens each, official code: after block ``ii`` with ``ii % (D/L) == 0``) to any L:

    * update ``l`` (0-based) follows block ``floor(l·D/L)``: every (D/L)-th block from block 0 on, i.e. on 12 blocks
      L = 12 / 6 / 4 / 2 updates after every 1st / 2nd / 3rd / 6th block (Table 7);
    * it adds a fresh (n_l, D) tensor to prompt tokens ``[floor(l·M/L), max(floor((l+1)·M/L), floor(l·M/L) + 1))``:
      eq. (1)'s slice with its real-valued bounds rounded down, at least one token. For L <= M the slices partition
      the M prompts in order (M=6, L=4: sizes 1, 2, 1, 2); for L > M each token gets L/M consecutive one-token
      updates (M=6, L=12: tokens 0,0,1,1,...,5,5), so early tokens are refreshed early and late ones late, as in
      eq. (1). L = 2 gives the official ``{0: 3, 6: 3}`` exactly;
    * an update that would follow the last block is left out (its tokens reach only the stripped positions: it
      could have no effect), so L = D gives D - 1 updates; updates landing on one block (L > D) merge into one
      tensor over the union of their slices.
    """

    num_prompts: int = 6
    """Number of prompt tokens M, present from block 0 on."""
    progressive: bool = True
    """Whether progressive updates are applied at all (Table 4 'Pr.' vs 'Pr.Pr.')."""
    schedule: dict[int, int] | None = None
    """``{after_block: n_tokens}``; ``None`` derives it from the backbone depth."""
    num_updates: int = 2
    """Updates L spread over depth when ``schedule`` is None (MMA-DFER: 2, after blocks 0 and depth/2; Table 7:
    12 / 6 / 4 / 2 / 0); L need not divide ``num_prompts`` (see the class docstring)."""
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
        return {b: hi - lo for b, (lo, hi) in self.resolve_slices(depth).items()}

    def resolve_slices(self, depth: int) -> dict[int, tuple[int, int]]:
        """``{after_block: (first, end)}``: the prompt tokens ``[first, end)`` each update adds to, block order."""
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
                    stacklevel=3,
                )
            slices, start = {}, 0
            for block, n in sorted(self.schedule.items()):  # consecutive slices from the first prompt token
                slices[block] = (start, start + n)
                start += n
            return slices
        m, updates = self.num_prompts, self.num_updates
        slices: dict[int, tuple[int, int]] = {}
        for k in range(updates):
            block = (k * depth) // updates
            if block >= depth - 1:  # after the last block: its tokens are stripped unseen
                continue
            lo = (k * m) // updates
            hi = max(((k + 1) * m) // updates, lo + 1)
            if block in slices:  # more updates than blocks: consecutive slices, so the union is one slice
                lo, hi = min(lo, slices[block][0]), max(hi, slices[block][1])
            slices[block] = (lo, hi)
        return slices


class PromptInjector(PromptHooks):
    """Owns the prompt tokens of one backbone: ``prompts`` (P, D), ``prompt_pos`` (P, D) and one (n_k, D) tensor
    per progressive update."""

    def __init__(self, config: PromptConfig, stream: StreamInfo) -> None:
        super().__init__(config.num_prompts)
        self.config = config
        self.width = width = stream.width
        # {after_block: (k, first, end)}: update k adds to prompt tokens [first, end)
        slices = config.resolve_slices(stream.depth)
        self.schedule = {b: hi - lo for b, (lo, hi) in slices.items()}  # {after_block: n_tokens}
        self._slices = {b: (k, lo, hi) for k, (b, (lo, hi)) in enumerate(slices.items())}
        std = config.init_std if config.init_std is not None else width**-0.5
        p = config.num_prompts
        self.prompts = nn.Parameter(torch.randn(p, width) * std)
        self.prompt_pos = nn.Parameter(torch.randn(p, width) * config.pos_init_std)
        self.progressive = nn.ParameterList([nn.Parameter(torch.randn(n, width) * std) for n in self.schedule.values()])

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


register_adapter_kind("prompts", "progressive", PromptConfig, PromptInjector)
