"""Shared base of adapter configs: a :class:`~mmadapt.config_base.ConfigBase` that names its kind when nested.

A field holding some kind's config (``MultimodalConfig.fusion``, ``TemporalHeadConfig.joint``) is declared with
:func:`kind_field`; as a dict it names its kind under ``"type"`` and is rebuilt through the kind registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ..config_base import ConfigBase
from ..errors import ConfigError

__all__ = ["AdapterConfig", "kind_field"]


@dataclasses.dataclass
class AdapterConfig(ConfigBase):
    """Base class of every adapter kind's config (``to_dict``/``from_dict``/``replace`` from :class:`ConfigBase`)."""

    def to_typed_dict(self) -> dict[str, Any]:
        """``to_dict`` with this config's kind name under ``"type"`` (what saved configs hold)."""
        from .kinds import config_to_dict

        return config_to_dict(self)

    def _to_nested(self) -> Any:
        return self.to_typed_dict()

    @classmethod
    def _coerce(cls, value: Any, where: str, metadata: Mapping[str, Any]) -> Any:
        role = metadata.get("role")
        if role is None:  # a field typed with one concrete kind: its "type" tag is redundant
            if isinstance(value, Mapping):
                value = {k: v for k, v in value.items() if k != "type"}
            return super()._coerce(value, where, metadata)
        from .kinds import config_from_dict

        try:
            return config_from_dict(role, value, default=metadata["default_kind"])
        except ConfigError as err:
            message = str(err).removeprefix(f"{role}: ")  # ``where`` names the field more precisely than the role
            raise type(err)(f"{where}: {message}") from err


def kind_field(role: str, default_kind: str, default_factory: Callable[[], Any] | None, doc: str = "") -> Any:
    """A dataclass field holding the config of a ``role`` kind (``default_kind`` when a dict names no ``type``);
    ``default_factory=None`` makes the default ``None`` (adapter switched off)."""
    metadata = {"role": role, "default_kind": default_kind, "help": doc}
    if default_factory is None:
        return dataclasses.field(default=None, metadata=metadata)
    return dataclasses.field(default_factory=default_factory, metadata=metadata)
