"""Which of a shared set of adapter overrides apply to one preset.

Why: a study (or the demo's ablations) sizes the adapters once for every preset it trains, e.g. the demo's
``{"fusion": {"type": "mean-bottleneck", "latent_dim": 16}}``, while its presets differ in which adapters they have
and of which kind. An adapter the preset lacks (``None``) stays off, and an override naming a ``type`` other than
the preset's kind for that adapter was sized for another kind: that adapter keeps its preset's sizes. An override
without a ``type`` applies as given (and fails loudly if it does not fit the preset's kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .adapters._config import AdapterConfig
from .adapters.kinds import TYPE_KEY, kind_of

__all__ = ["overrides_for_preset"]


def overrides_for_preset(base: Any, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``overrides`` that apply to the preset config ``base`` (a ``MultimodalConfig``)."""
    kept: dict[str, Any] = {}
    for key, value in overrides.items():
        current = getattr(base, key, None)
        if hasattr(base, key) and current is None:
            continue  # the preset has no such adapter: it stays off
        if isinstance(current, AdapterConfig) and isinstance(value, Mapping) and TYPE_KEY in value:
            if value[TYPE_KEY] != kind_of(current).name:
                continue  # sized for another kind of this adapter
        kept[key] = value
    return kept
