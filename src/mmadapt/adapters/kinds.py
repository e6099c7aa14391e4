"""Adapter kinds: a typed config, a module class and one registration line, looked up by role and name.

As PEFT's ``register_peft_method``: the model builds every adapter through this registry, and a saved config names
each adapter's ``type``, so loading rebuilds kinds defined outside mmadapt (registered before loading).

Roles and what a kind's module is built from (the contracts live beside each role):
    prompts  ``cls(config, stream: StreamInfo)``                       one per stream   (adapters/prompts)
    fusion   ``cls(config, streams: dict[str, StreamInfo])``          one per fused layer (adapters/fusion)
    head     ``cls(config, streams: dict[str, StreamInfo], num_classes)``                (adapters/temporal)
    joint    ``cls(config, streams: dict[str, StreamInfo], dim)``    inside a head     (adapters/temporal)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..errors import ConfigError, RegistryError, UnknownNameError
from ..registry import Registry
from ._config import AdapterConfig

__all__ = [
    "ADAPTER_KINDS",
    "ROLES",
    "AdapterKind",
    "build_adapter",
    "config_from_dict",
    "config_to_dict",
    "get_adapter_kind",
    "kind_of",
    "list_adapter_kinds",
    "register_adapter_kind",
    "unregister_adapter_kind",
]

ROLES = ("prompts", "fusion", "head", "joint")
TYPE_KEY = "type"


@dataclass(frozen=True)
class AdapterKind:
    """One registered kind: its role, name, config class and module class."""

    role: str
    name: str
    config_cls: type[AdapterConfig]
    module_cls: type[nn.Module]


def _validate(name: str, kind: AdapterKind) -> None:
    if not (isinstance(kind.config_cls, type) and issubclass(kind.config_cls, AdapterConfig)):
        raise TypeError(f"adapter kind {name!r}: the config must be an AdapterConfig subclass, got {kind.config_cls!r}")
    if not dataclasses.is_dataclass(kind.config_cls):
        raise TypeError(f"adapter kind {name!r}: {kind.config_cls.__name__} must be a dataclass")
    if not (isinstance(kind.module_cls, type) and issubclass(kind.module_cls, nn.Module)):
        raise TypeError(f"adapter kind {name!r}: the module must be an nn.Module subclass, got {kind.module_cls!r}")
    owner = _BY_CONFIG.get(kind.config_cls)
    if owner is not None and (owner.role, owner.name) != (kind.role, name):
        raise RegistryError(
            f"{kind.config_cls.__name__} already configures the {owner.role} kind {owner.name!r}; "
            "give each kind its own config class"
        )


def _describe(kind: AdapterKind) -> str:
    return f"{kind.module_cls.__module__}.{kind.module_cls.__qualname__}"


ADAPTER_KINDS: dict[str, Registry[AdapterKind]] = {
    role: Registry(f"{role} kind", validate=_validate, describe=_describe) for role in ROLES
}
"""One registry of kinds per role (``ADAPTER_KINDS["fusion"].list()``)."""
_KINDS = ADAPTER_KINDS
_BY_CONFIG: dict[type, AdapterKind] = {}


def _role(role: str) -> Registry[AdapterKind]:
    try:
        return _KINDS[role]
    except KeyError:
        raise RegistryError(f"unknown adapter role {role!r}; roles are {', '.join(ROLES)}") from None


def register_adapter_kind(
    role: str, name: str, config_cls: type[AdapterConfig], module_cls: type[nn.Module], *, override: bool = False
) -> AdapterKind:
    """Register a kind of adapter for ``role`` under ``name``; returns the record."""
    registry = _role(role)
    kind = AdapterKind(role, name, config_cls, module_cls)
    if name in registry and registry.get(name) == kind:
        return registry.get(name)  # re-importing a module that registers is harmless
    old = registry.get(name) if name in registry else None
    registry.register(name, kind, override=override)
    if old is not None:
        _BY_CONFIG.pop(old.config_cls, None)
    _BY_CONFIG[config_cls] = kind
    return kind


def unregister_adapter_kind(role: str, name: str) -> AdapterKind:
    """Remove a kind (tests and plugins that register temporarily)."""
    kind = _role(role).unregister(name)
    _BY_CONFIG.pop(kind.config_cls, None)
    return kind


def get_adapter_kind(role: str, name: str) -> AdapterKind:
    """The registered kind ``name`` of ``role`` (its config and module classes); an unknown role or name is a
    :class:`RegistryError` naming the close matches."""
    return _role(role).get(name)


def list_adapter_kinds(role: str, pattern: str = "*") -> list[str]:
    """Names of the registered kinds of ``role`` matching the shell-style ``pattern``."""
    return _role(role).list(pattern)


def kind_of(config: AdapterConfig, role: str | None = None) -> AdapterKind:
    """The registered kind whose config class ``config`` is (exactly); ``role`` checks it plays that role."""
    kind = _BY_CONFIG.get(type(config))
    if kind is None:
        raise ConfigError(
            f"{type(config).__name__} is not the config of a registered adapter kind; register it with "
            "mmadapt.register_adapter_kind(role, name, config_cls, module_cls)"
        )
    if role is not None and kind.role != role:
        raise ConfigError(f"{type(config).__name__} configures a {kind.role} kind ({kind.name!r}), not a {role} kind")
    return kind


def config_to_dict(config: AdapterConfig) -> dict[str, Any]:
    """The config's fields with its kind's name under ``"type"`` first."""
    return {TYPE_KEY: kind_of(config).name, **config.to_dict()}


def config_from_dict(role: str, data: Mapping[str, Any] | AdapterConfig, default: str) -> AdapterConfig:
    """A config of ``role`` from a dict naming its ``type`` (``default`` when absent: format-v1 files name none)."""
    if isinstance(data, AdapterConfig):
        kind_of(data, role)
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"a {role} adapter config must be a mapping or an AdapterConfig, got {data!r}")
    fields = dict(data)
    name = fields.pop(TYPE_KEY, default)
    try:
        kind = get_adapter_kind(role, name)
    except RegistryError as e:
        raise UnknownNameError(
            f"{role}: {e}; a kind defined outside mmadapt must be registered (mmadapt.register_adapter_kind) before "
            "a config or a saved adapter can name it"
        ) from None
    return kind.config_cls.from_dict(fields)


def build_adapter(config: AdapterConfig, role: str, *args: Any, **kwargs: Any) -> nn.Module:
    """The module of ``config``'s kind, built with the role's arguments."""
    return kind_of(config, role).module_cls(config, *args, **kwargs)
