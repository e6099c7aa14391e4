"""Config of the prompt injector."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from ...errors import ConfigError
from .._config import AdapterConfig


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
        if self.num_prompts < 1:
            raise ConfigError(f"PromptConfig.num_prompts must be >= 1, got {self.num_prompts}")
        if self.num_updates < 0:
            raise ConfigError(f"PromptConfig.num_updates must be >= 0, got {self.num_updates}")
        if self.schedule is not None:
            # JSON turns int keys into strings; accept both
            self.schedule = {int(k): int(v) for k, v in self.schedule.items()}
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
