"""What every prompt kind shares: the forward hooks that append, update and strip its tokens on one backbone.

Legend: B batch, N tokens (prefix + patches [+ P prompts]), D width, P prompt tokens.

A kind subclasses :class:`PromptHooks` and supplies ``append`` (the tokens block 0 sees), ``update`` (what happens
to the prompt tokens after a scheduled block) and ``schedule`` (the blocks after which ``update`` runs; the lockstep
runner reads it). Prompt tokens always sit after the patch tokens, so stripping them is one slice for every kind.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from ...anatomy import Anatomy, map_tokens

__all__ = ["PromptHooks"]


class PromptHooks(nn.Module):
    """Base of the prompt kinds' modules: hooks on the backbone's public modules, ``detach()`` removes them all.

    One hook on the module whose output feeds block 0 (append), optionally one per scheduled block (update, in
    single-ViT mode; inside the multimodal model the lockstep runner calls :meth:`update` after the block's fusion)
    and one on the final-norm module (strip, so pooling and ``forward_features`` never see the prompts).
    """

    schedule: dict[int, int]
    """``{after_block: n_tokens}``: the blocks after which :meth:`update` runs and how many tokens it touches."""

    def __init__(self, num_prompts: int) -> None:
        super().__init__()
        self._num_prompts = num_prompts
        self.enabled = True
        self._handles: list[RemovableHandle] = []

    @property
    def num_prompts(self) -> int:
        """Prompt tokens P carried after the patch tokens, from block 0 to the final norm."""
        return self._num_prompts

    # ---- the operations a kind defines ------------------------------------------------------------------
    def append(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N + P, D): the prompt tokens block 0 sees, after the patch tokens."""
        raise NotImplementedError

    def update(self, after_block: int, x: torch.Tensor) -> torch.Tensor:
        """(B, N + P, D) -> (B, N + P, D): the prompt tokens after ``after_block`` (out of place)."""
        raise NotImplementedError

    def strip(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N + P, D) -> (B, N, D)."""
        return x[:, : x.shape[1] - self.num_prompts]

    # ---- hooks ------------------------------------------------------------------------------------------
    # Bound methods (or partials of them), never closures: ``copy.deepcopy`` duplicates a bound method together
    # with its module, so a copied backbone runs on the copy's prompts and ``enabled`` flag.
    def attach(self, anatomy: Anatomy, *, hook_blocks: bool, strip_output: bool) -> None:
        """Hook the prompts into ``anatomy``'s backbone.

        ``hook_blocks`` applies the scheduled updates as block hooks (single-ViT mode); the lockstep runner calls
        ``update`` itself after fusion instead. ``strip_output`` removes the prompts at the final norm.
        """
        if self._handles:
            raise RuntimeError(f"{type(self).__name__} is already attached; detach() it first")
        self._handles.append(anatomy.embed_output.register_forward_hook(self._append_hook))
        if hook_blocks:
            for b in self.schedule:
                self._handles.append(anatomy.blocks[b].register_forward_hook(partial(self._update_hook, b)))
        if strip_output and anatomy.token_output is not None:
            self._handles.append(anatomy.token_output.register_forward_hook(self._strip_hook))
        self._handles.extend(anatomy.prompt_fixups(self.num_prompts, self.is_enabled))

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def is_enabled(self) -> bool:
        return self.enabled

    def _append_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, self.append) if self.enabled else output

    def _update_hook(self, block: int, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, partial(self.update, block)) if self.enabled else output

    def _strip_hook(self, module: nn.Module, args: Any, output: Any) -> Any:
        return map_tokens(output, self.strip) if self.enabled else output
