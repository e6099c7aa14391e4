"""Shared base of adapter configs: typed dataclasses with a strict JSON round-trip."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, TypeVar

from ..errors import ConfigError

C = TypeVar("C", bound="AdapterConfig")


@dataclasses.dataclass
class AdapterConfig:
    """Base class: ``to_dict``/``from_dict`` round-trip through JSON, rejecting unknown keys."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain values; a nested adapter config becomes a dict naming its ``type``."""
        return {
            f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
        }

    def to_typed_dict(self) -> dict[str, Any]:
        """``to_dict`` with this config's kind name under ``"type"`` (what saved configs hold)."""
        from .kinds import config_to_dict

        return config_to_dict(self)

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown keys {unknown}; known keys are {sorted(names)}")
        return cls(**d)

    def replace(self: C, **changes: Any) -> C:
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ConfigError(f"{type(self).__name__}: unknown keys {unknown}; known keys are {sorted(names)}")
        return dataclasses.replace(self, **changes)


def _plain(value: Any) -> Any:
    if isinstance(value, AdapterConfig):
        return value.to_typed_dict()
    return copy.deepcopy(value)
