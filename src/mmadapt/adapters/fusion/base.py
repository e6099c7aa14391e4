"""What every fusion kind shares: which streams take part and at which blocks (the fused layers).

A fusion kind's module is built once per fused layer as ``cls(config, streams)`` (``streams``: the participating
streams' :class:`~mmadapt.streams.StreamInfo`, in the model's order) and called as
``module(x, frames) -> dict``: ``x[s]`` is stream ``s``'s residual stream ``(n·T_s, N_s, D_s)`` (clip-major, T_s
frames per clip, 1 for a per-clip stream), ``frames[s]`` is ``T_s``; it returns the new tensors of the same shapes
(it may leave some out: those are unchanged). An untrained fusion should be the identity (zero-initialised gates).

A kind whose module sets ``runs_blocks = True`` runs the fused blocks itself (the model then runs them only through
it): it is called as ``module(x, frames, blocks=..., state=...)`` with ``x[s]`` the input of stream ``s``'s fused
block, ``blocks[s](t, extra_tokens=k)`` that block (``t`` may carry ``k`` tokens of the kind's own at its end) and
``state`` a dict that lives for one forward, to carry things from one fused layer to the next. The stream's
backbone must take appended tokens (``Anatomy.accepts_extra_tokens``). Example: ``attention-bottleneck``.

A kind's module may define ``last_layer()``: the model calls it on the last fused layer's module, which then drops
what only feeds a later layer (a parameter no output depends on gets no gradient, yet would be trained and counted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError
from .._config import AdapterConfig

__all__ = ["FusedLayer", "FusionKindConfig", "resolve_layer_map"]

FusedLayer = dict[str, int]
"""One fusion step: the block index after which each participating stream is fused."""


@dataclass
class FusionKindConfig(AdapterConfig):
    """Base of fusion kind configs: the streams that take part and the fused layers."""

    layer_map: list[Any] | None = None
    """Fused layers, one entry per fusion step: a mapping ``{stream: block}`` or a tuple of blocks in the
    participating streams' order. ``None`` = every block of the shallowest encoder, matched proportionally in the
    deeper ones (identity for equal depths)."""
    streams: list[str] | None = None
    """Names of the streams that take part; ``None`` = all of them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.layer_map is not None:
            self.layer_map = [
                {str(k): int(v) for k, v in entry.items()}
                if isinstance(entry, Mapping)
                else tuple(int(b) for b in entry)
                for entry in self.layer_map
            ]
        if self.streams is not None:
            if len(set(self.streams)) != len(self.streams) or len(self.streams) < 2:
                raise ConfigError(f"fusion streams must name at least two distinct streams, got {self.streams}")

    def participants(self, names: Sequence[str]) -> list[str]:
        """The participating streams, in the model's order."""
        if self.streams is None:
            return list(names)
        unknown = sorted(set(self.streams) - set(names))
        if unknown:
            raise ConfigError(f"fusion streams {unknown} are not streams of this model ({list(names)})")
        return [n for n in names if n in self.streams]

    def resolve_layer_map(self, depths: Mapping[str, int]) -> list[FusedLayer]:
        """Validated fused layers for streams of these depths (participants only, in order)."""
        return resolve_layer_map(self.layer_map, depths)


def resolve_layer_map(layer_map: list[Any] | None, depths: Mapping[str, int]) -> list[FusedLayer]:
    """``{stream: block}`` per fusion step, strictly increasing in every stream."""
    names = list(depths)
    if layer_map is None:
        shallow = min(depths.values())
        return [{s: (k + 1) * depths[s] // shallow - 1 for s in names} for k in range(shallow)]
    steps: list[FusedLayer] = []
    for entry in layer_map:
        if isinstance(entry, Mapping):
            step = {str(k): int(v) for k, v in entry.items()}
            if set(step) != set(names):
                raise ConfigError(f"fusion layer_map entry {step} must name exactly the fused streams {names}")
            step = {s: step[s] for s in names}
        else:
            blocks = tuple(entry)
            if len(blocks) != len(names):
                raise ConfigError(
                    f"fusion layer_map entry {blocks} has {len(blocks)} blocks for {len(names)} fused streams {names}"
                )
            step = dict(zip(names, (int(b) for b in blocks), strict=True))
        for s, b in step.items():
            if not 0 <= b < depths[s]:
                raise ConfigError(
                    f"fusion layer_map entry {step} is outside the encoders' depths "
                    f"({', '.join(f'{n} {d}' for n, d in depths.items())})"
                )
        steps.append(step)
    for prev, cur in zip(steps, steps[1:]):
        if not all(cur[s] > prev[s] for s in names):
            raise ConfigError(f"fusion layer_map must increase strictly in every stream, got {steps}")
    return steps
