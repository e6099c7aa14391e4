"""Backbone anatomy: where one ViT family keeps its stages, so every adapter drives every family the same way.

An anatomy holds the backbone by reference and never rewrites its forward: the runner calls the family's own
embed stage, blocks and final norm, and the adapters act through hooks on public modules.

Legend: B batch (frames for video), C channels, H/W input size, N tokens, D width, P prompt tokens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from .._dtype import module_dtype
from ..config_base import ConfigBase, require_at_least
from ..errors import ConfigError, InputShapeError, UnsupportedBackboneError

Undo = Callable[[], None]


class PromptFixup:
    """Base of the hooks :meth:`Anatomy.prompt_fixups` registers: the prompt count and the injector's switch.

    An object rather than a closure over ``enabled`` (a bound method of the injector): ``copy.deepcopy`` of a
    prompted backbone duplicates it with the copied injector, so the copy follows its own switch."""

    def __init__(self, num_prompts: int, enabled: Callable[[], bool]) -> None:
        self.num_prompts, self.enabled = num_prompts, enabled


@dataclass(frozen=True)
class PosSlot:
    """A tunable positional table: the parameter ``owner.<attr>``, swapped in and out by reference."""

    owner: nn.Module
    attr: str
    grid_rows: slice  # rows of the table that form the patch grid (the rest are prefix rows)

    def get(self) -> torch.Tensor:
        return getattr(self.owner, self.attr)

    def set(self, value: nn.Parameter) -> None:
        setattr(self.owner, self.attr, value)


@dataclass(frozen=True)
class BackboneIdentity(ConfigBase):
    """What a saved adapter records about a backbone, and what loading checks."""

    family: str
    cls: str
    width: int
    depth: int
    num_prefix_tokens: int
    in_chans: int
    input_size: tuple[int, int]
    patch_size: tuple[int, int]

    def __post_init__(self) -> None:
        super().__post_init__()
        require_at_least(self, 1, "width", "depth", "in_chans")
        require_at_least(self, 0, "num_prefix_tokens")
        for name in ("input_size", "patch_size"):
            if any(side < 1 for side in getattr(self, name)):
                raise ConfigError(f"BackboneIdentity.{name} must be positive, got {getattr(self, name)!r}")


def map_tokens(output: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to the token tensor of a module output; some families return ``(tokens, ...)`` tuples."""
    if isinstance(output, tuple):
        return (fn(output[0]), *output[1:])
    return fn(output)


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    a, b = v
    return (int(a), int(b))


class Anatomy(ABC):
    """Everything mmadapt needs to know about one backbone family.

    Subclasses read the structure once (in ``__init__``) and expose stage calls; nothing here inspects
    signatures or class names inside a traced forward.
    """

    family: ClassVar[str] = "abstract"
    #: Whether the family can run at an input size other than its native one.
    resizable: ClassVar[bool] = True
    #: Methods of the family's class that its own forward runs but the runner never calls (it calls the stages
    #: below instead); a backbone subclass overriding one is warned about at wrap time (:mod:`.bypassed`).
    #: Checked against the calls each family really makes in tests/anatomy/test_bypassed.py.
    bypassed_methods: ClassVar[tuple[str, ...]] = ("forward",)

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        self.model = model  # the family's own module (PEFT wrapper removed)
        self.root = root if root is not None else model  # what the user handed us
        self.native_input_size: tuple[int, int] = self._read_native_input_size()
        self.input_size: tuple[int, int] = self.native_input_size

    # ---- structure ------------------------------------------------------------------------------------
    @property
    @abstractmethod
    def blocks(self) -> Sequence[nn.Module]: ...

    @property
    @abstractmethod
    def width(self) -> int: ...

    @property
    def depth(self) -> int:
        return len(self.blocks)

    @property
    @abstractmethod
    def num_prefix_tokens(self) -> int: ...

    @property
    def num_heads(self) -> int | None:
        """Attention heads per block, where the family records them (``None``: not known); only described, never
        relied on, so a user anatomy need not define it."""
        return None

    @property
    def dtype(self) -> torch.dtype:
        """The residual stream's dtype: that of the blocks' weights (bf16 backbones run a bf16 stream)."""
        return module_dtype(self.blocks[0])

    @property
    def device(self) -> torch.device | None:
        """Where the blocks' weights are, so where the inputs must be (``None`` for a block without parameters)."""
        for p in self.blocks[0].parameters():  # a loop, not next(): torch.compile traces it without a break
            return p.device
        return None

    @property
    @abstractmethod
    def in_chans(self) -> int: ...

    @abstractmethod
    def _read_native_input_size(self) -> tuple[int, int]:
        """The input size the backbone was built for (read once, before any resize)."""

    @property
    @abstractmethod
    def patch_size(self) -> tuple[int, int]: ...

    @property
    @abstractmethod
    def embed_output(self) -> nn.Module:
        """The module whose output is the token sequence fed to block 0 (prompts are appended there)."""

    @property
    def token_output(self) -> nn.Module | None:
        """The module whose output is the final token sequence (prompts are stripped there in VPT mode)."""
        return None

    def pos_slots(self) -> dict[str, PosSlot]:
        """Tunable positional tables under stable names."""
        return {}

    def grid_size(self, input_size: tuple[int, int] | None = None) -> tuple[int, int]:
        h, w = input_size or self.input_size
        ph, pw = self.patch_size
        return (h // ph, w // pw)

    def num_tokens(self, input_size: tuple[int, int] | None = None) -> int:
        gh, gw = self.grid_size(input_size)
        return self.num_prefix_tokens + gh * gw

    def identity(self) -> BackboneIdentity:
        return BackboneIdentity(
            family=self.family,
            cls=f"{type(self.model).__module__}.{type(self.model).__qualname__}",
            width=self.width,
            depth=self.depth,
            num_prefix_tokens=self.num_prefix_tokens,
            in_chans=self.in_chans,
            input_size=self.input_size,
            patch_size=self.patch_size,
        )

    # ---- stages ---------------------------------------------------------------------------------------
    def check_input(self, x: torch.Tensor, name: str) -> None:
        """Reject inputs that do not fit this backbone: (B, C, H, W), floating point, at the attached size."""
        if x.dim() != 4:
            raise InputShapeError(f"{name}: expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise InputShapeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
        if x.shape[1] != self.in_chans:
            raise InputShapeError(
                f"{name}: the {self.family} backbone takes {self.in_chans} input channel(s), got {x.shape[1]} "
                f"(shape {tuple(x.shape)})"
            )
        if tuple(x.shape[-2:]) != tuple(self.input_size):
            raise InputShapeError(
                f"{name}: the backbone is attached for input size {tuple(self.input_size)}, got "
                f"{tuple(x.shape[-2:])}; pass the size to wrap_encoders to resample the positions"
            )

    @abstractmethod
    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """Input (B, C, H, W) -> tokens (B, N, D) and a per-call context handed to every block."""

    @abstractmethod
    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        """Run block ``i`` the way the family's own forward does."""

    @property
    def accepts_extra_tokens(self) -> bool:
        """Whether the blocks take tokens appended after the embed stage (the fusion tokens of a fusion kind that
        runs the fused blocks itself, e.g. ``attention-bottleneck``); :meth:`extend_context` adapts the context."""
        return True

    def extend_context(self, ctx: Any, num_tokens: int) -> Any:
        """The block context for a sequence with ``num_tokens`` more tokens at its end than ``ctx`` was made for.

        The default hands ``ctx`` back: most families' blocks take any sequence length. A family whose context
        holds per-token tables (rotary rows) pads them; one that cannot answers ``accepts_extra_tokens`` False."""
        return ctx

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        """The norm the family applies to the whole sequence after the last block (identity if none)."""
        return x

    @abstractmethod
    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Final-norm tokens without prompts (B, N, D) -> pooled (B, D), as the family pools."""

    @abstractmethod
    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The family's own forward up to the final token sequence (reference for tests and disabled mode)."""

    def native_pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.native_tokens(x))

    # ---- adaptation seams -----------------------------------------------------------------------------
    def set_input_size(self, input_size: tuple[int, int]) -> tuple[dict[str, torch.Tensor], Undo]:
        """Prepare the backbone for ``input_size``: returns resampled positional tables (by slot name) and a
        callable that restores every attribute it changed. Tables are resampled once; the caller tunes them."""
        input_size = _pair(input_size)
        if input_size == self.native_input_size:
            self.input_size = input_size
            return {}, self._restore_size
        if not self.resizable:
            raise UnsupportedBackboneError(
                f"{type(self.model).__name__} ({self.family}) runs only at its native input size "
                f"{self.native_input_size}; got {input_size}"
            )
        ph, pw = self.patch_size
        if input_size[0] % ph or input_size[1] % pw:
            raise InputShapeError(f"input size {input_size} is not a multiple of the patch size {self.patch_size}")
        tables = self._resize(input_size)
        self.input_size = input_size
        return tables, self._restore_size

    def _restore_size(self) -> None:
        self._unresize()
        self.input_size = self.native_input_size

    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        raise UnsupportedBackboneError(f"{self.family} cannot run at {input_size}")

    def _unresize(self) -> None:  # noqa: B027 - an optional hook: families that resize nothing keep the no-op
        """Undo what ``_resize`` changed (called on detach)."""

    def block_parts(self, i: int) -> dict[str, list[nn.Module]]:
        """The sub-modules of block ``i`` by role: ``"attention"`` (token mixing) and ``"mlp"`` (the feed-forward).

        Why: LoRA in the backbones (:mod:`mmadapt.adapters.backbone_lora`) targets the ``nn.Linear`` layers inside
        them, found by ownership, so no adapter guesses a family's projection names (``qkv`` / ``q_proj`` / ``query``).
        A family that does not say is refused by name when LoRA is asked for, and works for everything else.
        """
        raise UnsupportedBackboneError(
            f"the {self.family} anatomy ({type(self).__name__}) does not say where its blocks keep attention and MLP; "
            "implement Anatomy.block_parts to use backbone_lora with it"
        )

    def prompt_fixups(self, num_prompts: int, enabled: Callable[[], bool]) -> list[RemovableHandle]:
        """Family-specific hooks that make appended prompt tokens legal (e.g. RoPE, relative position bias);
        write them as :class:`PromptFixup` subclasses so that ``copy.deepcopy`` gives a copy its own."""
        return []
