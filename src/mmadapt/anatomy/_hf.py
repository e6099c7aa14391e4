"""Helpers shared by the Hugging Face anatomies: where a model keeps its layers, and how a layer returns.

transformers 5.x keeps encoder layers in ``model.layers`` and returns a tensor from each; 4.x keeps them in
``model.encoder.layer`` (CLIP: ``encoder.layers``) and some layers return a 1-tuple. Both are read once, when the
anatomy is built, never inside a forward.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..errors import UnsupportedBackboneError
from .base import Anatomy

# where encoder layers live, newest layout first
_LAYER_PATHS: tuple[tuple[str, ...], ...] = (("layers",), ("encoder", "layer"), ("encoder", "layers"))


def find_layers(model: nn.Module) -> list[nn.Module]:
    """The encoder layers of ``model`` as a list of module references (PEFT keeps the same objects)."""
    for path in _LAYER_PATHS:
        obj: Any = model
        for name in path:
            obj = getattr(obj, name, None)
            if obj is None:
                break
        if isinstance(obj, nn.ModuleList) and len(obj) > 0:
            return list(obj)
    raise UnsupportedBackboneError(
        f"{type(model).__name__}: found no encoder layers under any of "
        f"{['.'.join(p) for p in _LAYER_PATHS]} (an unsupported transformers version?)"
    )


# where a layer keeps its parts, newest layout first: 5.x `attention` + `mlp` (CLIP `self_attn`), 4.x the BERT-style
# `attention` + `intermediate` / `output`
_PART_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "attention": (("attention",), ("self_attn",)),
    "mlp": (("mlp",), ("intermediate", "output")),
}


def find_parts(layer: nn.Module) -> dict[str, list[nn.Module]]:
    """The attention and MLP sub-modules of one encoder layer (see :meth:`Anatomy.block_parts`)."""
    parts: dict[str, list[nn.Module]] = {}
    for role, layouts in _PART_PATHS.items():
        for names in layouts:
            found = [getattr(layer, n, None) for n in names]
            if all(isinstance(m, nn.Module) for m in found):
                parts[role] = found
                break
        else:
            raise UnsupportedBackboneError(
                f"{type(layer).__name__}: found no {role} under any of {['+'.join(p) for p in layouts]} "
                "(an unsupported transformers version?)"
            )
    return parts


def first(out: Any) -> torch.Tensor:
    """A layer's hidden states, whether it returned a tensor (5.x) or a tuple starting with them (4.x)."""
    return out[0] if isinstance(out, tuple) else out


def param_names(fn: Any) -> Sequence[str]:
    """Parameter names of a callable (read once at construction time)."""
    return tuple(inspect.signature(fn).parameters)


def config_pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    a, b = v
    return (int(a), int(b))


class AttrPatch:
    """Sets attributes and remembers the exact objects they held, so ``restore`` puts them back."""

    def __init__(self) -> None:
        self._saved: list[tuple[object, str, Any]] = []

    def set(self, obj: object, name: str, value: Any) -> None:
        self._saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def restore(self) -> None:
        for obj, name, old in reversed(self._saved):
            setattr(obj, name, old)
        self._saved.clear()

    def __bool__(self) -> bool:
        return bool(self._saved)


class HFAnatomy(Anatomy):
    """Facts every Hugging Face ViT-like family reads the same way from its config (override where it differs)."""

    _blocks: list[nn.Module]

    @property
    def blocks(self) -> Sequence[nn.Module]:
        return self._blocks

    @property
    def width(self) -> int:
        return int(self.model.config.hidden_size)

    def block_parts(self, i: int) -> dict[str, list[nn.Module]]:
        return find_parts(self._blocks[i])

    @property
    def num_heads(self) -> int | None:
        return int(self.model.config.num_attention_heads)

    @property
    def num_prefix_tokens(self) -> int:
        return 1

    @property
    def in_chans(self) -> int:
        return int(self.model.config.num_channels)

    def _read_native_input_size(self) -> tuple[int, int]:
        return config_pair(self.model.config.image_size)

    @property
    def patch_size(self) -> tuple[int, int]:
        return config_pair(self.model.config.patch_size)
