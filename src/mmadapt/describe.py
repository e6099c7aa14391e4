"""What mmadapt reads from one backbone and what a preset tunes on it as one stream (``mmadapt info SPEC``).

The tuned counts come from really wrapping the backbone (``wrap_encoders({stream: backbone})``) and detaching it
again, so they are the numbers training would see, never a formula kept beside the adapters. Adapters that need
more than one stream (the fusion bottleneck) are switched off and listed as left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from .anatomy import BackboneIdentity, resolve_anatomy

__all__ = ["BackboneDescription", "describe_backbone"]

_MULTI_STREAM = ("fusion",)
"""Preset fields whose adapters join two or more streams, so a single backbone cannot have them."""


@dataclass(frozen=True)
class BackboneDescription:
    """A backbone's anatomy facts plus the trainable adapter parameters a preset gives it as one stream."""

    identity: BackboneIdentity
    """Family, class, width, depth, prefix tokens, channels, native input size, patch size."""
    num_heads: int | None
    """Attention heads per block (``None`` where the family does not record them)."""
    resizable: bool
    """Whether the family can run at an input size other than its native one."""
    parameters: int
    """Parameters of the backbone itself (all frozen by mmadapt)."""
    preset: str
    stream: str
    input_size: tuple[int, int]
    """The input size the tuned counts are for (resampled position tables are tuned at this size)."""
    tuned: dict[str, int]
    """Adapter module name -> trainable parameters."""
    left_out: tuple[str, ...]
    """Preset adapters that need more streams than one."""

    @property
    def trainable(self) -> int:
        return sum(self.tuned.values())

    def lines(self) -> list[str]:
        """The description as aligned ``key  value`` lines."""
        ident = self.identity
        size = "x".join(map(str, ident.input_size))
        facts = [
            ("family", ident.family),
            ("class", ident.cls),
            ("width", str(ident.width)),
            ("depth", str(ident.depth)),
            ("heads", str(self.num_heads) if self.num_heads is not None else "unknown"),
            ("patch size", "x".join(map(str, ident.patch_size))),
            ("input channels", str(ident.in_chans)),
            ("native input size", size + ("" if self.resizable else " (fixed: the family cannot resize)")),
            ("prefix tokens", str(ident.num_prefix_tokens)),
            ("parameters", f"{self.parameters:,d} (frozen)"),
        ]
        width = max(len(k) for k, _ in facts)
        out = [f"{k:{width}s}  {v}" for k, v in facts]
        at = "x".join(map(str, self.input_size))
        out.append(f"preset {self.preset} on it as stream {self.stream!r} at {at}, trainable:")
        name_w = max([len("total"), *(len(n) for n in self.tuned)])
        out += [f"  {name:{name_w}s} {count:>12,d}" for name, count in sorted(self.tuned.items())]
        out.append(f"  {'total':{name_w}s} {self.trainable:>12,d}")
        out += [f"  left out: {name} (needs two or more streams)" for name in self.left_out]
        return out


def describe_backbone(
    backbone: nn.Module,
    *,
    preset: str = "mma-dfer",
    stream: str = "video",
    num_classes: int | None = None,
    **overrides: Any,
) -> BackboneDescription:
    """Describe ``backbone`` and count what ``preset`` tunes on it as the only stream ``stream``.

    ``overrides`` are :func:`~mmadapt.wrap_encoders` overrides (``input_sizes={stream: (H, W)}``: where the position
    tables are tuned, default the native size; sizes of other streams are ignored); ``num_classes`` defaults to the
    preset's. The backbone is handed back unchanged (wrapped, counted, detached).
    """
    from .model import wrap_encoders
    from .presets import get_preset

    anatomy = resolve_anatomy(backbone)
    identity, heads, resizable = anatomy.identity(), anatomy.num_heads, anatomy.resizable
    frozen = sum(p.numel() for p in backbone.parameters())
    config = get_preset(preset, {stream: anatomy})
    config = config.with_overrides(**overrides) if overrides else config
    left_out = tuple(name for name in _MULTI_STREAM if getattr(config, name) is not None)
    config = config.with_overrides(**{name: None for name in left_out})
    config = config.replace(input_sizes={s: v for s, v in config.input_sizes.items() if s == stream})
    if num_classes is not None:
        config = config.with_overrides(num_classes=num_classes)
    model = wrap_encoders({stream: backbone}, config)
    try:
        size = tuple(model.backbone_identity()[stream]["input_size"])
        tuned = model.adapter_parameter_counts(trainable_only=True)
    finally:
        model.detach()
    return BackboneDescription(
        identity=identity,
        num_heads=heads,
        resizable=resizable,
        parameters=frozen,
        preset=preset,
        stream=stream,
        input_size=size,  # type: ignore[arg-type]
        tuned={name: count for name, count in tuned.items() if count},
        left_out=left_out,
    )
