"""The anatomy registry: backbone class -> anatomy, matched along the class hierarchy.

Families are keyed by dotted class path (``module.qualname``) so that registering Hugging Face families does not
import ``transformers``; users register their own with ``register_anatomy``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from torch import nn

from ..errors import UnsupportedBackboneError
from ..registry import Registry
from .base import Anatomy

__all__ = ["ANATOMIES", "list_anatomies", "register_anatomy", "registered_class", "resolve_anatomy"]

_CLASS_PATH = r"[A-Za-z_]\w*(?:\.(?:[A-Za-z_]\w*|<locals>))+"
"""``package.module.Class``; ``<locals>`` appears in the qualname of a class defined inside a function."""


def _validate(name: str, anatomy_cls: type[Anatomy]) -> None:
    if not (isinstance(anatomy_cls, type) and issubclass(anatomy_cls, Anatomy)):
        raise TypeError(f"{anatomy_cls!r} is not a subclass of mmadapt.anatomy.Anatomy")


ANATOMIES: Registry[type[Anatomy]] = Registry("backbone class", validate=_validate, pattern=_CLASS_PATH)
"""Dotted backbone class path -> the anatomy class that reads it."""


def _key(model_cls: type | str) -> str:
    if isinstance(model_cls, str):
        return model_cls
    if not isinstance(model_cls, type):
        raise TypeError(f"register_anatomy expects a class or a dotted class path, got {model_cls!r}")
    return f"{model_cls.__module__}.{model_cls.__qualname__}"


def register_anatomy(
    model_cls: type | str, anatomy_cls: type[Anatomy] | None = None, *, override: bool = False
) -> Callable[[type[Anatomy]], type[Anatomy]] | type[Anatomy]:
    """Register ``anatomy_cls`` for ``model_cls`` (a class or ``"package.module.Class"``); usable as a decorator."""
    key = _key(model_cls)

    def _register(a: type[Anatomy]) -> type[Anatomy]:
        return ANATOMIES.register(key, a, override=override)

    return _register if anatomy_cls is None else _register(anatomy_cls)


def list_anatomies() -> dict[str, str]:
    """Registered backbone classes -> anatomy family names."""
    return {k: v.family for k, v in sorted(ANATOMIES.items())}


def _unwrap_peft(model: nn.Module) -> nn.Module:
    # A model can only be a PeftModel if peft was imported; never import it just to find out.
    if "peft" in sys.modules:
        from peft import PeftModel

        if isinstance(model, PeftModel):
            base = model.get_base_model()
            return base
    return model


def registered_class(model_cls: type) -> type | None:
    """The class along ``model_cls``'s hierarchy that an anatomy is registered for (``model_cls`` itself or the
    nearest base), or ``None``; the one rule by which :func:`resolve_anatomy` matches."""
    for klass in model_cls.__mro__:
        if _key(klass) in ANATOMIES:
            return klass
    return None


def resolve_anatomy(model: nn.Module) -> Anatomy:
    """Build the anatomy of ``model`` (a backbone, possibly wrapped by PEFT)."""
    if not isinstance(model, nn.Module):
        raise UnsupportedBackboneError(f"expected a torch.nn.Module backbone, got {type(model).__name__}")
    inner = _unwrap_peft(model)
    klass = registered_class(type(inner))
    if klass is not None:
        return ANATOMIES.get(_key(klass))(inner, root=model)
    supported = ", ".join(sorted({k.rsplit(".", 1)[-1] for k in ANATOMIES}))
    raise UnsupportedBackboneError(
        f"no anatomy is registered for {type(inner).__module__}.{type(inner).__qualname__}; supported families: "
        f"{supported}. Register one with mmadapt.register_anatomy(YourClass, YourAnatomy)."
    )
