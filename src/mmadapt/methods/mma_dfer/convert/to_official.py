"""mmadapt model -> the official MMA-DFER state dict (keys, shapes and order of ``GenerateModel``).

The inverse of :func:`~.from_official.from_official` through the same layout table. Tensors the official model
has but mmadapt does not (unused heads, dead ``norm2``) come from the stored extras when present, so
official -> mmadapt -> official is bit-exact; otherwise they are rebuilt deterministically (``norm2`` as
LayerNorm initialises it, heads as zeros) and a warning names them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import torch

from ....errors import ConfigError
from ....model import MultimodalAdapterModel
from .architecture import STREAM_LAYOUT, OfficialArchitecture, head_rows_from
from .from_official import EXTRAS_ATTR
from .layout import Dropped, Route, build_layout
from .reader import PARALLEL_PREFIX

__all__ = ["to_official"]


def to_official(
    model: MultimodalAdapterModel,
    extras: Mapping[str, torch.Tensor] | None = None,
    *,
    data_parallel: bool = False,
) -> dict[str, torch.Tensor]:
    """The official state dict of ``model``, in the official key order.

    ``extras`` defaults to ``model.official_extras`` (set by ``from_official`` / ``load_converted``).
    ``data_parallel=True`` prefixes every key with ``module.`` as the official checkpoints have; wrap the result
    as ``{"state_dict": ...}`` to get the layout ``main.py`` writes. Routed tensors share memory with the model,
    except the positional tables, which are concatenations.
    """
    if extras is None:
        extras = getattr(model, EXTRAS_ATTR, None) or {}
    arch = OfficialArchitecture.from_model(model, head_rows=head_rows_from(extras))
    backbones = {s: model.backbones[s] for s in STREAM_LAYOUT}
    state: dict[str, dict[str, torch.Tensor]] = {"adapter": model.adapter_state_dict()}
    with model.disable_adapters():  # the backbones' own tables (only used to know their keys)
        for stream, vit in backbones.items():
            state[stream] = {k: v.detach() for k, v in vit.state_dict().items()}
    layout = build_layout(arch, {s: list(state[s]) for s in STREAM_LAYOUT})

    out: dict[str, torch.Tensor] = {}
    filled_by_default: list[str] = []
    for entry in layout.entries:
        if isinstance(entry, Route):
            out[entry.official] = _gather(entry, state)
        else:
            out[entry.official] = _dropped_value(entry, extras, filled_by_default, _reference(state))
    unused = sorted(set(extras) - set(out))
    if unused:
        raise ConfigError(f"extras hold keys that are not in the official layout of this model: {unused[:5]}")
    if filled_by_default:
        warnings.warn(
            f"{len(filled_by_default)} official tensors the model does not use were rebuilt with their initial "
            f"values (no stored extras): {filled_by_default[:4]}{' ...' if len(filled_by_default) > 4 else ''}",
            stacklevel=2,
        )
    if data_parallel:
        out = {PARALLEL_PREFIX + k: v for k, v in out.items()}
    return out


def _reference(state: Mapping[str, Mapping[str, torch.Tensor]]) -> torch.Tensor:
    return next(iter(state["adapter"].values()))


def _gather(route: Route, state: Mapping[str, Mapping[str, torch.Tensor]]) -> torch.Tensor:
    pieces = []
    for part in route.parts:
        value = state[part.space][part.name]
        pieces.append(value.unsqueeze(0) if part.squeeze else value)
    if len(pieces) == 1 and route.parts[0].rows is None:
        return pieces[0]
    return torch.cat(pieces, dim=1)  # (1, 1 + G + P, D)


def _dropped_value(
    entry: Dropped, extras: Mapping[str, torch.Tensor], filled: list[str], like: torch.Tensor
) -> torch.Tensor:
    stored = extras.get(entry.official)
    if stored is not None:
        if tuple(stored.shape) != entry.shape:
            raise ConfigError(f"extras[{entry.official!r}] has shape {tuple(stored.shape)}, expected {entry.shape}")
        return stored
    filled.append(entry.official)
    return torch.full(entry.shape, entry.fill, dtype=like.dtype, device=like.device)
