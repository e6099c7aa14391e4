"""LoRA inside the frozen backbones, by PEFT itself, reversible: ``MultimodalConfig.backbone_lora``.

Legend: D_in / D_out a targeted Linear's widths, r the rank; ``W x + (alpha / r) · B A x`` with A (r, D_in),
B (D_out, r).

Why PEFT and not a layer of our own: ``peft.inject_adapter_in_model`` is the reference LoRA (initialisation, dropout,
scaling, dtype handling), and its weights keep PEFT's own keys. Which layers: every ``nn.Linear`` inside the parts
that :meth:`~mmadapt.anatomy.Anatomy.block_parts` names (``"attention"``, plus ``"mlp"`` for ``"attention+mlp"``),
found by ownership, so timm's ``qkv`` / ``proj`` and Hugging Face's ``q_proj`` ... ``fc2`` are never guessed by name.

What attaching changes, and ``detach`` undoes: PEFT replaces each targeted Linear in its parent by a ``lora.Linear``
that wraps it as ``base_layer``, and sets a ``peft_config`` attribute on the family's model. Undoing puts every
original Linear object back into its slot and restores that attribute, so the backbone comes back with its own
module tree, parameter objects and state dict. While attached the LoRA weights live in the backbone (so ``.to()``
reaches them) and belong to the adapter model: trainable, counted, saved under
``backbone_lora.<stream>.<module path>.lora_A.weight`` / ``lora_B.weight`` (the keys of
``peft.get_peft_model_state_dict``) and loaded through ``peft.set_peft_model_state_dict``.

B starts at zero (PEFT's default initialisation), so an untrained model's features equal the native ones exactly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..anatomy import Anatomy
from ..config_base import ConfigBase
from ..errors import ConfigError, UnsupportedBackboneError

__all__ = ["ADAPTER_NAME", "BackboneLora", "BackboneLoraConfig", "lora_targets"]

ADAPTER_NAME = "mmadapt"
"""PEFT's name for the adapter mmadapt injects (not PEFT's ``"default"``, which a user's own adapter may hold)."""
_MISSING = object()


@dataclass
class BackboneLoraConfig(ConfigBase):
    """PEFT LoRA in every block of every backbone (``None`` in ``MultimodalConfig.backbone_lora``: no LoRA).

    The defaults are the LoRA paper's common setting on attention; the ``claip-emo`` preset sets CLAIP-Emo's own
    (rank 8, alpha 32, dropout 0.1 on attention and MLP).
    """

    rank: int = 8
    """LoRA rank r (``LoraConfig.r``)."""
    alpha: int = 16
    """Scaling numerator: the update is ``(alpha / rank) · B A x`` (``LoraConfig.lora_alpha``)."""
    dropout: float = 0.0
    """Dropout on the LoRA branch's input in training (``LoraConfig.lora_dropout``)."""
    targets: Literal["attention", "attention+mlp"] = "attention"
    """Which parts of each block get LoRA on their Linear layers, as the anatomy names them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rank < 1:
            raise ConfigError(f"BackboneLoraConfig.rank must be >= 1, got {self.rank}")
        if self.alpha <= 0:
            raise ConfigError(f"BackboneLoraConfig.alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"BackboneLoraConfig.dropout must be in [0, 1), got {self.dropout}")

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.targets.split("+"))

    def peft_config(self, target_modules: list[str]) -> Any:
        """The ``peft.LoraConfig`` for these exact module paths."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(target_modules),
            bias="none",
        )


def lora_targets(config: BackboneLoraConfig, anatomy: Anatomy, where: str) -> list[str]:
    """Module paths (relative to ``anatomy.model``) of the Linear layers LoRA goes into; raises, before anything is
    changed, for a backbone that already holds PEFT layers or whose anatomy does not name its blocks' parts."""
    try:
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:
        raise ConfigError(f"{where}: backbone_lora needs the peft package (pip install peft)") from None
    model = anatomy.model
    if any(isinstance(m, BaseTunerLayer) for m in model.modules()):
        raise UnsupportedBackboneError(
            f"{where}: the backbone already holds PEFT adapter layers; backbone_lora injects its own, so give it a "
            "plain backbone (e.g. merge_and_unload() the PEFT one) or set backbone_lora=None"
        )
    path = {id(m): n for n, m in model.named_modules()}
    targets: dict[str, None] = {}  # ordered, de-duplicated
    for i in range(anatomy.depth):
        try:
            parts = anatomy.block_parts(i)
        except UnsupportedBackboneError as err:
            raise UnsupportedBackboneError(f"{where}: {err}") from None
        for role in config.roles:
            for part in parts[role]:
                for m in part.modules():
                    if isinstance(m, nn.Linear):
                        targets[path[id(m)]] = None
    if not targets:
        raise UnsupportedBackboneError(f"{where}: the {config.targets} parts of its blocks hold no nn.Linear for LoRA")
    return list(targets)


@dataclass
class _Slot:
    parent: nn.Module
    attr: str
    original: nn.Module


class BackboneLora:
    """PEFT LoRA injected into one backbone, with everything needed to take it out again.

    A plain object held by the model's attachment record (like the hooks' handles), so ``copy.deepcopy`` of the
    model copies it together with the backbone it points into.
    """

    def __init__(self, config: BackboneLoraConfig, anatomy: Anatomy, targets: list[str]) -> None:
        from peft import inject_adapter_in_model
        from peft.tuners.lora import LoraLayer

        model = anatomy.model
        self.model = model
        self.targets = list(targets)
        self._slots: list[_Slot] = []
        for name in self.targets:
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name)
            self._slots.append(_Slot(parent, attr, getattr(parent, attr)))
        self._saved_config = vars(model).get("peft_config", _MISSING)
        self._grad_flags: list[bool] | None = None
        try:
            inject_adapter_in_model(config.peft_config(self.targets), model, adapter_name=ADAPTER_NAME)
            for slot in self._slots:
                layer = getattr(slot.parent, slot.attr)
                if not isinstance(layer, LoraLayer) or layer.get_base_layer() is not slot.original:
                    raise UnsupportedBackboneError(
                        f"PEFT did not wrap {type(model).__name__}.{slot.attr} as expected (got {type(layer).__name__})"
                    )
        except BaseException:
            self.remove()
            raise

    def layers(self) -> Iterator[tuple[str, nn.Module]]:
        """``(module path, PEFT LoRA layer)`` for every targeted Linear, in the targets' order."""
        for name, slot in zip(self.targets, self._slots, strict=True):
            yield name, getattr(slot.parent, slot.attr)

    def named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """The LoRA weights by ownership (visiting the LoRA layers), under PEFT's state-dict keys."""
        for name, layer in self.layers():
            for part in ("lora_A", "lora_B"):
                yield f"{name}.{part}.weight", getattr(layer, part)[ADAPTER_NAME].weight

    def parameters(self) -> Iterator[nn.Parameter]:
        for _, p in self.named_parameters():
            yield p

    def load(self, state: Mapping[str, torch.Tensor]) -> None:
        """Copy LoRA weights in (keys as :meth:`named_parameters`), through ``peft.set_peft_model_state_dict``."""
        from peft import set_peft_model_state_dict

        result = set_peft_model_state_dict(self.model, dict(state), adapter_name=ADAPTER_NAME)
        if result.unexpected_keys:
            raise UnsupportedBackboneError(f"PEFT did not take the LoRA keys {sorted(result.unexpected_keys)[:3]}")

    def set_enabled(self, enabled: bool) -> None:
        """Switch the LoRA branches off (the native path) or back on; PEFT's switch also clears ``requires_grad``,
        so the flags are put back as they were on re-enabling."""
        if not enabled and self._grad_flags is None:
            self._grad_flags = [p.requires_grad for p in self.parameters()]
        for _, layer in self.layers():
            layer.enable_adapters(enabled)
        if enabled and self._grad_flags is not None:
            for p, flag in zip(self.parameters(), self._grad_flags, strict=True):
                p.requires_grad_(flag)
            self._grad_flags = None

    def remove(self) -> None:
        """Put every original Linear back into its slot and restore the model's ``peft_config`` attribute."""
        for slot in self._slots:
            setattr(slot.parent, slot.attr, slot.original)
        if self._saved_config is _MISSING:
            vars(self.model).pop("peft_config", None)
        else:
            vars(self.model)["peft_config"] = self._saved_config
