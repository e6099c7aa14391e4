"""Named backbone builders: ``register_backbone``, ``list_backbones``, ``create_backbone``.

A builder is a callable ``(checkpoint=None, **kwargs) -> BuiltBackbone``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from .load_report import BuiltBackbone

__all__ = ["BackboneBuilder", "create_backbone", "list_backbones", "register_backbone"]

BackboneBuilder = Callable[..., BuiltBackbone]

_BUILDERS: dict[str, BackboneBuilder] = {}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def register_backbone(name: str) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator registering a builder under ``name`` (lower-case identifier, unique)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"backbone name must be a lower-case identifier, got {name!r}")

    def decorate(builder: BackboneBuilder) -> BackboneBuilder:
        if not callable(builder):
            raise TypeError(f"builder for {name!r} must be callable, got {type(builder).__name__}")
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise ValueError(f"a backbone named {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return decorate


def list_backbones(pattern: str = "*") -> list[str]:
    """Registered names matching the fnmatch ``pattern``, sorted."""
    return sorted(n for n in _BUILDERS if fnmatchcase(n, pattern))


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered backbone."""
    return name in _BUILDERS


def create_backbone(name: str, checkpoint: Any = None, **kwargs: Any) -> BuiltBackbone:
    """Build the registered backbone ``name``; see each builder for its keyword arguments."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; registered: {list_backbones()}") from None
    return builder(checkpoint=checkpoint, **kwargs)
