"""Where every official MMA-DFER tensor lives in mmadapt: one table, used in both directions.

Legend: D width, G grid tokens, P prompt tokens, E temporal width.

A :class:`Route` sends one official tensor to one or more mmadapt tensors ("parts"), named ``space:name`` with
space ``audio`` / ``video`` (backbone ``state_dict`` keys) or ``adapter`` (``adapter_state_dict`` keys). Only the
official positional tables are split: ``(1, 1 + G + P, D)`` rows ``[0, 1 + G)`` are the tuned table
``pos_embeds.<stream>.pos_embed`` and rows ``[1 + G, 1 + G + P)`` the prompts' own positions ``prompt_pos``
``(P, D)``. The same leading rows are also copied into the backbone's frozen ``pos_embed`` (a ``copy``, never
read back), since the official checkpoint keeps no untuned table.

A :class:`Dropped` entry is an official tensor that the official forward never uses: the two classification
heads of the backbones and the ``norm2`` LayerNorms of the temporal transformer's ``PreNorm`` wrappers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .architecture import STREAM_LAYOUT, OfficialArchitecture

__all__ = ["POS_SLOT", "Dropped", "OfficialLayout", "Part", "Route", "build_layout"]

POS_SLOT = "pos_embed"
"""Name of the positional slot of a timm ViT; the model tunes it as ``pos_embeds.<stream>.pos_embed``."""
WB = ("weight", "bias")

# (official template, mmadapt adapter template); {i} block, {l} temporal layer, {w} weight/bias
_FUSION: dict[str, tuple[tuple[tuple[str, str], ...], ...]] = {
    # groups of sub-modules, expanded block by block (the official module order)
    "video": (
        (
            ("image_encoder.audio_proj_pre.{i}.0.{w}", "fusion.{i}.down.audio.0.{w}"),
            ("image_encoder.audio_proj_pre.{i}.1.{w}", "fusion.{i}.down.audio.1.{w}"),
        ),
        (("image_encoder.temporal_pre.{i}.{w}", "fusion.{i}.down.video.0.{w}"),),
        (("image_encoder.temporal_pre_norm.{i}.{w}", "fusion.{i}.down.video.1.{w}"),),
        (("image_encoder.temporal_att_post.{i}.0.{w}", "fusion.{i}.up.video.0.{w}"),),
    ),
    "audio": ((("audio_model.temporal_att_post.{i}.0.{w}", "fusion.{i}.up.audio.0.{w}"),),),
}
_GATE = "{enc}.all_gate.{i}", "fusion.{i}.gate.{stream}"
_TEMPORAL_LAYER = (
    ("temporal_net.temporal_transformer.layers.{l}.0.fn.norm.{w}", "head.temporal.layers.{l}.0.norm.{w}"),
    ("temporal_net.temporal_transformer.layers.{l}.0.fn.norm2.{w}", None),
    ("temporal_net.temporal_transformer.layers.{l}.0.fn.fn.to_kv.weight", "head.temporal.layers.{l}.0.to_kv.weight"),
    ("temporal_net.temporal_transformer.layers.{l}.0.fn.fn.to_q.weight", "head.temporal.layers.{l}.0.to_q.weight"),
    ("temporal_net.temporal_transformer.layers.{l}.0.fn.fn.to_out.0.{w}", "head.temporal.layers.{l}.0.to_out.0.{w}"),
    ("temporal_net.temporal_transformer.layers.{l}.1.fn.norm.{w}", "head.temporal.layers.{l}.1.norm.{w}"),
    ("temporal_net.temporal_transformer.layers.{l}.1.fn.norm2.{w}", None),
    ("temporal_net.temporal_transformer.layers.{l}.1.fn.fn.net.0.{w}", "head.temporal.layers.{l}.1.net.0.{w}"),
    ("temporal_net.temporal_transformer.layers.{l}.1.fn.fn.net.3.{w}", "head.temporal.layers.{l}.1.net.3.{w}"),
)
_HEAD_TOP = (
    ("our_classifier.{w}", "head.classifier.{w}"),
    ("vision_proj.{w}", "head.joint.proj.{w}"),
)
DEAD_NORM = "never used: PreNorm.norm2 only acts on a second input, which the official model never passes"
UNUSED_HEAD = "never used: the official forward reads the CLS features, not the backbone's classification head"


@dataclass(frozen=True)
class Part:
    """One mmadapt tensor holding (some rows of) an official tensor."""

    target: str
    """``space:name`` with space ``audio``, ``video`` or ``adapter``."""
    rows: tuple[int, int] | None = None
    """Rows [start, stop) along the token axis (dim 1) of a ``(1, N, D)`` official tensor; ``None`` = all of it."""
    squeeze: bool = False
    """The mmadapt tensor has no leading axis of size 1: ``(P, D)`` for official rows ``(1, P, D)``."""

    @property
    def space(self) -> str:
        return self.target.split(":", 1)[0]

    @property
    def name(self) -> str:
        return self.target.split(":", 1)[1]


@dataclass(frozen=True)
class Route:
    """An official tensor = the concatenation (dim 1) of its ``parts``; ``copies`` are loaded but never read back."""

    official: str
    parts: tuple[Part, ...]
    copies: tuple[Part, ...] = ()


@dataclass(frozen=True)
class Dropped:
    """An official tensor with no mmadapt counterpart; ``fill`` rebuilds it as the official code initialises it."""

    official: str
    reason: str
    shape: tuple[int, ...]
    fill: float
    """Constant value when no stored tensor is available (LayerNorm weight 1, bias 0; unused heads 0)."""


@dataclass(frozen=True)
class OfficialLayout:
    """Every official key in the official order, each routed or dropped."""

    entries: tuple[Route | Dropped, ...]

    @property
    def routes(self) -> list[Route]:
        return [e for e in self.entries if isinstance(e, Route)]

    @property
    def dropped(self) -> list[Dropped]:
        return [e for e in self.entries if isinstance(e, Dropped)]

    @property
    def keys(self) -> list[str]:
        return [e.official for e in self.entries]

    def targets(self) -> Iterator[Part]:
        for route in self.routes:
            yield from route.parts
            yield from route.copies


def _wb(official: str, target: str | None, **fmt: object) -> Iterator[tuple[str, str | None]]:
    kinds = WB if "{w}" in official else ("",)
    for w in kinds:
        yield official.format(w=w, **fmt), None if target is None else target.format(w=w, **fmt)


def build_layout(arch: OfficialArchitecture, backbone_keys: Mapping[str, Sequence[str]]) -> OfficialLayout:
    """All official keys of ``arch``; ``backbone_keys[stream]`` = the mmadapt backbone's ``state_dict`` keys."""
    entries: list[Route | Dropped] = []

    def route(official: str, target: str) -> None:
        entries.append(Route(official, (Part(target),)))

    # temporal transformer, classifier, joint projection (official order)
    route("temporal_net.cls_token", "adapter:head.temporal.cls_token")
    route("temporal_net.pos_embedding", "adapter:head.temporal.pos_embedding")
    for layer in range(arch.head_depth):
        for official_t, target_t in _TEMPORAL_LAYER:
            for official, target in _wb(official_t, target_t, l=layer):
                if target is None:
                    fill = 1.0 if official.endswith(".weight") else 0.0
                    entries.append(Dropped(official, DEAD_NORM, (arch.head_dim,), fill))
                else:
                    route(official, f"adapter:{target}")
    for official_t, target_t in _HEAD_TOP:
        for official, target in _wb(official_t, target_t):
            route(official, f"adapter:{target}")

    # the two encoders
    for stream, layout in STREAM_LAYOUT.items():
        enc, shape = layout.official, arch.encoder(stream)
        grid_end = 1 + shape.grid_tokens  # CLS row + grid rows
        for key in backbone_keys[stream]:
            if key == POS_SLOT:
                parts = (
                    Part(f"adapter:pos_embeds.{stream}.{POS_SLOT}", (0, grid_end)),
                    Part(f"adapter:prompts.{stream}.prompt_pos", (grid_end, grid_end + shape.num_prompts), True),
                )
                entries.append(Route(f"{enc}.{key}", parts, (Part(f"{stream}:{key}", (0, grid_end)),)))
                route(f"{enc}.learnable_prompts_init", f"adapter:prompts.{stream}.prompts")
            else:
                route(f"{enc}.{key}", f"{stream}:{key}")
        entries.append(Dropped(f"{enc}.head.weight", UNUSED_HEAD, (shape.head_rows, shape.width), 0.0))
        entries.append(Dropped(f"{enc}.head.bias", UNUSED_HEAD, (shape.head_rows,), 0.0))
        for k in range(len(shape.progressive)):
            route(f"{enc}.learnable_prompts_progr.{k}", f"adapter:prompts.{stream}.progressive.{k}")
        for group in _FUSION[stream]:
            for i in range(arch.depth):
                for official_t, target_t in group:
                    for official, target in _wb(official_t, target_t, i=i):
                        route(official, f"adapter:{target}")
        for i in range(arch.depth):
            route(_GATE[0].format(enc=enc, i=i), "adapter:" + _GATE[1].format(i=i, stream=stream))
    return OfficialLayout(tuple(entries))
