"""The lockstep plan: in which order the two encoders' blocks, the fusions and the prompt updates run.

The plan is a static list computed once from the depths, the fusion layer map and the prompt schedules, so the
forward is a flat loop that ``torch.compile(fullgraph=True)`` traces without graph breaks.

Order per fused pair (official semantics §2): audio blocks up to the pair, video blocks up to the pair, fusion,
then the progressive prompt updates of the fused blocks (an update always follows the fusion of its block).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Op = Literal["audio", "video", "fuse", "audio_prompt", "video_prompt"]


@dataclass(frozen=True)
class Step:
    op: Op
    index: int  # block index for block/prompt steps, fusion index for "fuse"


def build_plan(
    audio_depth: int,
    video_depth: int,
    layer_map: list[tuple[int, int]],
    audio_schedule: dict[int, int],
    video_schedule: dict[int, int],
) -> list[Step]:
    """Steps that run every block of both encoders once, in lockstep with the fused pairs."""
    fused = {"audio": {a for a, _ in layer_map}, "video": {v for _, v in layer_map}}
    schedules = {"audio": audio_schedule, "video": video_schedule}
    next_block = {"audio": 0, "video": 0}
    steps: list[Step] = []

    def run(stream: str, upto: int) -> None:
        """Blocks of ``stream`` up to ``upto``; an unfused block's prompt update follows it directly."""
        while next_block[stream] <= upto:
            i = next_block[stream]
            steps.append(Step(stream, i))  # type: ignore[arg-type]
            if i not in fused[stream] and i in schedules[stream]:
                steps.append(Step(f"{stream}_prompt", i))  # type: ignore[arg-type]
            next_block[stream] += 1

    for k, (a, v) in enumerate(layer_map):
        run("audio", a)
        run("video", v)
        steps.append(Step("fuse", k))
        if a in audio_schedule:
            steps.append(Step("audio_prompt", a))
        if v in video_schedule:
            steps.append(Step("video_prompt", v))
    run("audio", audio_depth - 1)
    run("video", video_depth - 1)
    return steps
