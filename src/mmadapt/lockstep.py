"""The lockstep plan: in which order the streams' blocks, the fusions and the prompt updates run.

The plan is a static list computed once from the depths, the fused layers and the prompt schedules, so the
forward is a flat loop that ``torch.compile(fullgraph=True)`` traces without graph breaks.

Order per fused layer (official semantics §2, generalised to any number of streams): each stream's blocks up to
the layer, in the streams' order, then the fusion, then the progressive prompt updates of the fused blocks (an
update always follows the fusion of its block). An unfused block's update follows the block directly. A fusion
kind that runs the fused blocks itself (``runs_blocks``, e.g. ``attention-bottleneck``) gets no block steps for
them: its "fuse" step runs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Op", "Step", "build_plan"]

Op = Literal["block", "fuse", "prompt"]


@dataclass(frozen=True)
class Step:
    op: Op
    index: int
    """Block index for block/prompt steps, fusion-step index for "fuse"."""
    stream: str | None = None
    """The stream of a block/prompt step; ``None`` for "fuse"."""


def build_plan(
    depths: Mapping[str, int],
    fused_layers: Sequence[Mapping[str, int]],
    schedules: Mapping[str, Mapping[int, int]],
    *,
    fusion_runs_blocks: bool = False,
) -> list[Step]:
    """Steps that run every block of every stream once, in lockstep with the fused layers.

    ``fused_layers[k]`` maps each fused stream to its block of fusion step ``k``; ``schedules[s]`` holds the
    blocks after which stream ``s``'s prompts are updated (missing = none). ``fusion_runs_blocks`` leaves the
    fused blocks to the "fuse" steps.
    """
    fused = {s: {layer[s] for layer in fused_layers if s in layer} for s in depths}
    next_block = dict.fromkeys(depths, 0)
    steps: list[Step] = []

    def run(stream: str, upto: int) -> None:
        while next_block[stream] <= upto:
            i = next_block[stream]
            if not (fusion_runs_blocks and i in fused[stream]):
                steps.append(Step("block", i, stream))
            if i not in fused[stream] and i in schedules.get(stream, {}):
                steps.append(Step("prompt", i, stream))
            next_block[stream] += 1

    for k, layer in enumerate(fused_layers):
        for s in depths:
            if s in layer:
                run(s, layer[s])
        steps.append(Step("fuse", k))
        for s in depths:
            if s in layer and layer[s] in schedules.get(s, {}):
                steps.append(Step("prompt", layer[s], s))
    for s, depth in depths.items():
        run(s, depth - 1)
    return steps
