"""The anatomy registry: backbone class -> anatomy, matched along the class hierarchy.

Families are keyed by dotted class path so that registering Hugging Face families does not import
``transformers``; users register their own with ``register_anatomy``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from torch import nn

from ..errors import UnsupportedBackboneError
from .base import Anatomy

_REGISTRY: dict[str, type[Anatomy]] = {}


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

    def _register(a: type[Anatomy]) -> type[Anatomy]:
        if not (isinstance(a, type) and issubclass(a, Anatomy)):
            raise TypeError(f"{a!r} is not a subclass of mmadapt.anatomy.Anatomy")
        key = _key(model_cls)
        if key in _REGISTRY and _REGISTRY[key] is not a and not override:
            raise ValueError(f"an anatomy is already registered for {key}: {_REGISTRY[key].__name__}")
        _REGISTRY[key] = a
        return a

    return _register if anatomy_cls is None else _register(anatomy_cls)


def list_anatomies() -> dict[str, str]:
    """Registered backbone classes -> anatomy family names."""
    return {k: v.family for k, v in sorted(_REGISTRY.items())}


def _unwrap_peft(model: nn.Module) -> nn.Module:
    # A model can only be a PeftModel if peft was imported; never import it just to find out.
    if "peft" in sys.modules:
        from peft import PeftModel

        if isinstance(model, PeftModel):
            base = model.get_base_model()
            return base
    return model


def resolve_anatomy(model: nn.Module) -> Anatomy:
    """Build the anatomy of ``model`` (a backbone, possibly wrapped by PEFT)."""
    if not isinstance(model, nn.Module):
        raise UnsupportedBackboneError(f"expected a torch.nn.Module backbone, got {type(model).__name__}")
    inner = _unwrap_peft(model)
    for klass in type(inner).__mro__:
        anatomy_cls = _REGISTRY.get(_key(klass))
        if anatomy_cls is not None:
            return anatomy_cls(inner, root=model)
    supported = ", ".join(sorted({k.rsplit(".", 1)[-1] for k in _REGISTRY}))
    raise UnsupportedBackboneError(
        f"no anatomy is registered for {type(inner).__module__}.{type(inner).__qualname__}; supported families: "
        f"{supported}. Register one with mmadapt.register_anatomy(YourClass, YourAnatomy)."
    )
