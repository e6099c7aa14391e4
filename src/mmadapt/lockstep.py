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
    fused_audio = {a for a, _ in layer_map}
    fused_video = {v for _, v in layer_map}
    steps: list[Step] = []
    next_a = next_v = 0

    def run_audio(upto: int) -> None:
        nonlocal next_a
        while next_a <= upto:
            steps.append(Step("audio", next_a))
            if next_a not in fused_audio and next_a in audio_schedule:
                steps.append(Step("audio_prompt", next_a))
            next_a += 1

    def run_video(upto: int) -> None:
        nonlocal next_v
        while next_v <= upto:
            steps.append(Step("video", next_v))
            if next_v not in fused_video and next_v in video_schedule:
                steps.append(Step("video_prompt", next_v))
            next_v += 1

    for k, (a, v) in enumerate(layer_map):
        run_audio(a)
        run_video(v)
        steps.append(Step("fuse", k))
        if a in audio_schedule:
            steps.append(Step("audio_prompt", a))
        if v in video_schedule:
            steps.append(Step("video_prompt", v))
    run_audio(audio_depth - 1)
    run_video(video_depth - 1)
    return steps
