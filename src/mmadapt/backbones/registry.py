"""Named backbone builders: ``BACKBONES`` (one :class:`~mmadapt.registry.Registry`), ``register_backbone``,
``list_backbones``, ``create_backbone``.

A builder is a callable ``(checkpoint=None, **kwargs) -> BuiltBackbone``. Names are lower-case identifiers
(``maeface_vit_base``) so that they never collide with a timm model name or a local directory, which
:func:`~mmadapt.backbones.load_backbone` also accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import Registry
from .load_report import BuiltBackbone

__all__ = ["BACKBONES", "BackboneBuilder", "create_backbone", "is_registered", "list_backbones", "register_backbone"]

BackboneBuilder = Callable[..., BuiltBackbone]

BACKBONE_NAME = r"[a-z][a-z0-9_]*"
"""A backbone name is a lower-case identifier."""


def _validate(name: str, builder: BackboneBuilder) -> None:
    if not callable(builder):
        raise TypeError(f"builder for backbone {name!r} must be callable, got {type(builder).__name__}")


BACKBONES: Registry[BackboneBuilder] = Registry("backbone", validate=_validate, pattern=BACKBONE_NAME)


def register_backbone(name: str, *, override: bool = False) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator registering a builder under ``name``; a taken name is a ``RegistryError`` unless ``override``."""
    return BACKBONES.register(name, override=override)


def list_backbones(pattern: str = "*") -> list[str]:
    """Registered names matching the shell-style ``pattern`` (``"mae*"``), sorted."""
    return BACKBONES.list(pattern)


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered backbone."""
    return name in BACKBONES


def create_backbone(name: str, checkpoint: Any = None, **kwargs: Any) -> BuiltBackbone:
    """Build the registered backbone ``name``; an unknown name is a ``RegistryError`` naming the close matches."""
    return BACKBONES.get(name)(checkpoint=checkpoint, **kwargs)
