"""Official MMA-DFER checkpoint -> a ready :class:`~mmadapt.model.MultimodalAdapterModel`.

Legend: D width, G grid tokens, P prompt tokens.

Every official key is either routed to an mmadapt tensor or reported as deliberately dropped (see
:mod:`.layout`); everything is checked — recognised model, frame size, class count, keys, shapes, dtypes —
before any module receives a value, so a bad file never yields a half-loaded model.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import torch

from ....errors import CheckpointError
from ....model import MultimodalAdapterModel
from ._build import assign_backbone, build_meta_backbone, wrap_quietly
from .architecture import OFFICIAL_MEL_BINS, STREAM_LAYOUT, OfficialArchitecture
from .layout import DEAD_NORM, OfficialLayout, Part, Route, build_layout
from .reader import OfficialSource, read_official

__all__ = ["EXTRAS_ATTR", "ConversionReport", "ConversionResult", "from_official"]

logger = logging.getLogger(__name__)

EXTRAS_ATTR = "official_extras"
"""Attribute of a converted model holding the dropped official tensors, so ``to_official`` gives them back."""


@dataclass
class ConversionReport:
    """What the conversion did with each official key."""

    source: OfficialSource
    architecture: OfficialArchitecture
    mapped: dict[str, tuple[str, ...]]
    """Official key -> mmadapt tensors (``space:name``) it was loaded into."""
    dropped: dict[str, str]
    """Official key -> why it has no mmadapt counterpart."""
    unexpected: tuple[str, ...] = ()
    """Keys outside the official layout, skipped (only with ``strict=False``)."""
    dead_norms_at_init: bool = True
    """Whether the unused ``norm2`` tensors still hold LayerNorm's initial values (weight 1, bias 0)."""
    seconds: float = 0.0

    def summary(self) -> str:
        a = self.architecture
        src = self.source
        lines = [
            f"source: {src.description}"
            + (" (module. prefix removed)" if src.stripped_prefix else "")
            + (f"; other entries not used: {', '.join(src.other_entries)}" if src.other_entries else ""),
            f"architecture: frames {a.img_size}px, audio {a.audio.input_size[0]}x{a.audio.input_size[1]}, "
            f"width {a.video.width}, depth {a.depth}, heads {a.video.num_heads}, {a.num_prompts} prompts "
            f"(groups {list(a.video.progressive)}), fusion {a.fusion_dim}, head {a.head_dim}x{a.head_depth}, "
            f"{a.num_classes} classes",
            f"keys: {len(self.mapped)} mapped, {len(self.dropped)} dropped"
            + (f", {len(self.unexpected)} unexpected skipped" if self.unexpected else ""),
        ]
        reasons: dict[str, int] = {}
        for reason in self.dropped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        lines += [f"  dropped {n}: {reason}" for reason, n in reasons.items()]
        if not self.dead_norms_at_init:
            lines.append("  note: the unused norm2 tensors differ from their initial values (kept for the round trip)")
        lines.append(f"time: {self.seconds:.2f} s")
        return "\n".join(lines)


@dataclass
class ConversionResult:
    """The converted model (eval mode), the report, and the dropped tensors (also on ``model.official_extras``)."""

    model: MultimodalAdapterModel
    report: ConversionReport
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


def _meta_backbone(arch: OfficialArchitecture, stream: str):
    shape = arch.encoder(stream)
    return build_meta_backbone(shape.builder, shape.builder_kwargs())


def _slice(value: torch.Tensor, part: Part) -> torch.Tensor:
    if part.rows is None:
        return value
    out = value[:, part.rows[0] : part.rows[1]]  # (1, rows, D)
    return (out[0] if part.squeeze else out).clone()  # own storage: a slice would pin the whole table


def _official_shape(route: Route, shapes: Mapping[str, tuple[int, ...]]) -> tuple[int, ...]:
    """The official tensor shape implied by its parts' mmadapt shapes."""
    if len(route.parts) == 1 and route.parts[0].rows is None:
        return shapes[route.parts[0].target]
    pieces = [(1, *shapes[p.target]) if p.squeeze else shapes[p.target] for p in route.parts]
    return (1, sum(s[1] for s in pieces), *pieces[0][2:])


def _target_shapes(model: MultimodalAdapterModel) -> dict[str, tuple[int, ...]]:
    shapes = {f"adapter:{k}": tuple(p.shape) for k, p in model.adapter_named_parameters()}
    for stream in STREAM_LAYOUT:
        backbone = model.backbones[stream]
        with model.disable_adapters():  # the backbone's own positional table, not the tuned one
            shapes.update({f"{stream}:{k}": tuple(v.shape) for k, v in backbone.state_dict().items()})
    return shapes


def _check_coverage(layout: OfficialLayout, shapes: Mapping[str, tuple[int, ...]]) -> None:
    """Every mmadapt tensor is filled by exactly one part; a library change that adds one fails loudly here."""
    filled = [p.target for p in layout.targets()]
    doubled = sorted({t for t in filled if filled.count(t) > 1})
    unknown = sorted(set(filled) - set(shapes))
    unfilled = sorted(set(shapes) - set(filled))
    if doubled or unknown or unfilled:
        raise CheckpointError(
            "internal: the official layout does not match this mmadapt version: "
            f"filled twice {doubled[:5]}, not in the model {unknown[:5]}, never filled {unfilled[:5]}"
        )


def _check_keys_and_shapes(
    sd: Mapping[str, torch.Tensor],
    layout: OfficialLayout,
    shapes: Mapping[str, tuple[int, ...]],
    strict: bool,
    where: str,
) -> tuple[str, ...]:
    expected = set(layout.keys)
    dropped = {d.official: d for d in layout.dropped}
    missing = [k for k in layout.keys if k not in sd and (strict or k not in dropped)]
    unexpected = tuple(k for k in sd if k not in expected)
    bad_shape = []
    for route in layout.routes:
        if route.official in sd:
            want = _official_shape(route, shapes)
            if tuple(sd[route.official].shape) != want:
                bad_shape.append(f"{route.official}: {tuple(sd[route.official].shape)}, expected {want}")
    for d in layout.dropped:
        if d.official in sd and (sd[d.official].ndim != len(d.shape) or sd[d.official].shape[-1] != d.shape[-1]):
            bad_shape.append(f"{d.official}: {tuple(sd[d.official].shape)}, expected {d.shape}")
    float_dtypes = {v.dtype for v in sd.values() if v.is_floating_point()}
    not_float = [k for k, v in sd.items() if not v.is_floating_point()]
    problems = []
    if missing:
        problems.append(f"missing keys {missing[:10]}{' ...' if len(missing) > 10 else ''} ({len(missing)} in all)")
    if unexpected and strict:
        problems.append(f"unexpected keys {list(unexpected[:10])}{' ...' if len(unexpected) > 10 else ''}")
    if bad_shape:
        problems.append("mis-shaped: " + "; ".join(bad_shape[:10]))
    if not_float:
        problems.append(f"non floating-point tensors {not_float[:5]}")
    if len(float_dtypes) > 1:
        problems.append(f"mixed dtypes {sorted(map(str, float_dtypes))}")
    if problems:
        raise CheckpointError(f"{where} does not fit the official MMA-DFER layout: " + " | ".join(problems))
    if unexpected:
        warnings.warn(
            f"{where}: skipping {len(unexpected)} keys outside the official layout: {list(unexpected[:5])}",
            stacklevel=3,
        )
    return unexpected


def from_official(
    path_or_state_dict: str | PathLike[str] | Mapping[str, Any],
    img_size: int,
    num_classes: int,
    *,
    strict: bool = True,
    num_heads: int | None = None,
    temporal_heads: int | None = None,
    mel_bins: int = OFFICIAL_MEL_BINS,
) -> ConversionResult:
    """Convert an official MMA-DFER checkpoint (file or mapping) into an mmadapt model in eval mode.

    ``img_size`` and ``num_classes`` must be those the checkpoint was trained with (they are checked, not used
    to resize). Head counts are not stored in weights: ``None`` means width / 64 (ViT-B: 12 and 8).
    ``strict=False`` tolerates absent unused tensors and skips keys outside the layout (with a warning); the
    used tensors are always required. Tensors of an in-memory mapping are copied; those read from a file are
    taken over.
    """
    start = time.perf_counter()
    sd, source = read_official(path_or_state_dict)
    where = source.description
    arch = OfficialArchitecture.from_state_dict(
        sd,
        num_heads=num_heads,
        temporal_heads=temporal_heads,
        mel_bins=mel_bins,
        where=where,
        img_size=img_size,
        num_classes=num_classes,
    )

    # plan on a meta model: every key, shape and target checked before any value moves
    meta = {s: _meta_backbone(arch, s) for s in STREAM_LAYOUT}
    with torch.device("meta"):
        planned = wrap_quietly(meta["audio"], meta["video"], arch.wrap_overrides())
    shapes = _target_shapes(planned)
    planned.detach()  # hands the meta backbones back untouched: they receive the weights below
    backbone_keys = {s: list(meta[s].state_dict()) for s in STREAM_LAYOUT}
    layout = build_layout(arch, backbone_keys)
    _check_coverage(layout, shapes)
    unexpected = _check_keys_and_shapes(sd, layout, shapes, strict, where)

    def take(t: torch.Tensor) -> torch.Tensor:
        return t if source.from_file else t.detach().clone()

    values: dict[str, dict[str, torch.Tensor]] = {"audio": {}, "video": {}, "adapter": {}}
    mapped: dict[str, tuple[str, ...]] = {}
    for route in layout.routes:
        value = sd[route.official]
        for part in (*route.parts, *route.copies):
            values[part.space][part.name] = _slice(value, part) if part.rows is not None else take(value)
        mapped[route.official] = tuple(p.target for p in (*route.parts, *route.copies))
    extras = {d.official: take(sd[d.official]) for d in layout.dropped if d.official in sd}

    for s, vit in meta.items():
        assign_backbone(vit, values[s], f"{where} ({STREAM_LAYOUT[s].official}.*)")
    model = wrap_quietly(meta["audio"], meta["video"], arch.wrap_overrides())
    model.load_adapter_state_dict(values["adapter"], strict=True)
    model.eval()
    setattr(model, EXTRAS_ATTR, extras)

    report = ConversionReport(
        source=source,
        architecture=arch,
        mapped=mapped,
        dropped={d.official: d.reason for d in layout.dropped},
        unexpected=unexpected,
        dead_norms_at_init=all(
            bool((extras[d.official] == d.fill).all())
            for d in layout.dropped
            if d.reason == DEAD_NORM and d.official in extras
        ),
        seconds=time.perf_counter() - start,
    )
    logger.info("converted %s", report.summary().replace("\n", "; "))
    return ConversionResult(model, report, extras)
