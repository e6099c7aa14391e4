"""Overrides the lockstep runner bypasses, reported once at wrap time.

The runner calls a family's stages (embed, blocks, final norm, pool) directly, so a backbone subclass that
overrides the methods chaining them (``forward``; timm's ``forward_features``) would silently lose its change
inside a wrapped model. Which methods are bypassed is each anatomy's ``bypassed_methods``: one list per family,
next to the code that decides what is called. Subclasses overriding only methods the runner does call (a block,
timm's ``_pos_embed`` or ``forward_head``) are not warned about.
"""

from __future__ import annotations

import os
import sys
import warnings

from ..errors import BypassedOverrideWarning
from .base import Anatomy
from .registry import registered_class

__all__ = ["bypassed_overrides", "warn_bypassed_overrides"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # .../mmadapt/


def bypassed_overrides(anatomy: Anatomy) -> list[str]:
    """The names of ``anatomy.bypassed_methods`` that the backbone's class defines anew below the class its anatomy
    is registered for, in the anatomy's order. Empty for the registered class itself, and so for a subclass
    registered in its own right (``register_anatomy(MyViT, ...)`` says the runner is right for it)."""
    cls = type(anatomy.model)
    family = registered_class(cls)
    if family is None or family is cls:
        return []
    below = cls.__mro__[: cls.__mro__.index(family)]  # the backbone's class and every base between it and the family
    return [name for name in anatomy.bypassed_methods if any(name in vars(klass) for klass in below)]


def warn_bypassed_overrides(stream: str, anatomy: Anatomy) -> None:
    """One :class:`~mmadapt.errors.BypassedOverrideWarning` naming the class and all its bypassed overrides."""
    names = bypassed_overrides(anatomy)
    if not names:
        return
    cls, family = type(anatomy.model), registered_class(type(anatomy.model))
    assert family is not None  # bypassed_overrides found one
    warnings.warn(
        f"stream {stream!r}: {cls.__module__}.{cls.__qualname__} overrides {', '.join(names)} of "
        f"{family.__qualname__}, which mmadapt does not call (its embed stage, blocks and final norm are run "
        "directly), so the override has no effect in the wrapped model; move the change into a block or a hook",
        BypassedOverrideWarning,
        stacklevel=_stacklevel_outside_package(),
    )


def _stacklevel_outside_package() -> int:
    """The ``stacklevel`` that points a warning issued by the caller at the first frame outside mmadapt (the user's
    ``wrap_encoders`` or ``from_pretrained`` call); Python 3.11 has no ``skip_file_prefixes``."""
    frame = sys._getframe(1)  # the function that warns: stacklevel 1
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level
