"""Hugging Face ``BeitModel`` and ``Data2VecVisionModel``: relative position bias and a mean pooler.

Both add a relative position bias ``(1, heads, N, N)`` to the attention scores, from one shared module
and/or one per layer. Prompt tokens appended to the sequence need the bias padded with zeros for their rows
and columns (a zero bias is exactly "no positional preference"); ``prompt_fixups`` does it with a forward
hook on every bias module. With ``interpolate_pos_encoding=True`` the family instead stretches the bias to the
longer sequence, silently wrong: the fix-up refuses that combination.

Layouts: transformers 5.x ``BeitModel`` keeps layers in ``layers``, the shared bias in
``shared_position_bias`` and passes it as ``attention_mask``; ``Data2VecVisionModel`` (and 4.x BEiT) keep
``encoder.layer`` / ``encoder.relative_position_bias``, pass ``relative_position_bias=`` and return tuples
(embeddings included). Bias modules are found by what they own (a ``relative_position_bias_table``).

Legend: B batch, H/W input size, N tokens, D width, P prompt tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.hooks import RemovableHandle

from ..errors import UnsupportedBackboneError
from ._hf import HFAnatomy, find_layers, first, param_names
from .base import PosSlot, PromptFixup

_BIAS_TABLE = "relative_position_bias_table"


def _owns_bias_table(m: nn.Module) -> bool:
    return isinstance(getattr(m, _BIAS_TABLE, None), nn.Parameter)


class BeitAnatomy(HFAnatomy):
    family = "hf-beit"

    def __init__(self, model: nn.Module, root: nn.Module | None = None) -> None:
        self._blocks = find_layers(model)
        shared = getattr(model, "shared_position_bias", None)  # 5.x BeitModel
        if shared is None:
            shared = getattr(getattr(model, "encoder", None), "relative_position_bias", None)  # 4.x, Data2Vec
        self._shared: nn.Module | None = shared if shared is not None and _owns_bias_table(shared) else None
        self._bias_modules = [m for m in model.modules() if _owns_bias_table(m)]
        # how a layer takes the shared bias: 5.x BEiT as `attention_mask`, 4.x / Data2Vec as `relative_position_bias`
        names = param_names(self._blocks[0].forward)
        self._bias_kw = "relative_position_bias" if "relative_position_bias" in names else "attention_mask"
        super().__init__(model, root)

    # ---- structure ------------------------------------------------------------------------------------
    @property
    def accepts_extra_tokens(self) -> bool:
        # the relative bias is padded for the prompts only (prompt_fixups); further tokens would not match it
        return not self._bias_modules

    @property
    def embed_output(self) -> nn.Module:
        # the embeddings' last module: a tensor in every version (the embeddings themselves may return a tuple)
        return self.model.embeddings.dropout

    @property
    def token_output(self) -> nn.Module:
        return self.model.layernorm  # Identity when the family mean-pools, still called on the sequence

    def pos_slots(self) -> dict[str, PosSlot]:
        # absolute positions only (off in most BEiT checkpoints); the relative bias tables are not a token grid
        emb = self.model.embeddings
        if getattr(emb, "position_embeddings", None) is None:
            return {}
        return {"position_embeddings": PosSlot(emb, "position_embeddings", slice(1, None))}

    # ---- stages ---------------------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        tokens = first(self.model.embeddings(x))  # (B, N, D)
        resolution = x.shape[2:]
        shared = None
        if self._shared is not None:
            ph, pw = self.patch_size
            window = (resolution[0] // ph, resolution[1] // pw)
            shared = self._shared(window, interpolate_pos_encoding=False, dim_size=tokens.shape[1])
        return tokens, (shared, resolution)

    def block(self, i: int, x: torch.Tensor, ctx: Any) -> torch.Tensor:
        shared, resolution = ctx
        kwargs = {self._bias_kw: shared, "interpolate_pos_encoding": False, "resolution": resolution}
        return first(self._blocks[i](x, **kwargs))

    def final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.layernorm(x)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        pooler = getattr(self.model, "pooler", None)
        if pooler is not None:
            return pooler(x)  # layernorm(mean of x[:, 1:]) or CLS, per config.use_mean_pooling
        # built without a pooler: the same choice, minus the pooler's own norm
        return x[:, 1:].mean(1) if self.model.config.use_mean_pooling else x[:, 0]

    def native_tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=x).last_hidden_state

    # ---- adaptation seams -----------------------------------------------------------------------------
    def _resize(self, input_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        # absolute positions are interpolated and relative biases rebuilt for the window in every forward
        return {}

    def prompt_fixups(self, num_prompts: int, enabled: Callable[[], bool]) -> list[RemovableHandle]:
        if num_prompts <= 0:
            return []
        pad_bias = _BiasPad(type(self.model).__name__, num_prompts, enabled)
        return [m.register_forward_hook(pad_bias, with_kwargs=True) for m in self._bias_modules]


class _BiasPad(PromptFixup):
    """Forward hook on each relative-bias module: zero rows and columns for the prompts."""

    def __init__(self, model_name: str, num_prompts: int, enabled: Callable[[], bool]) -> None:
        super().__init__(num_prompts, enabled)
        self.model_name = model_name

    def __call__(self, module: nn.Module, args: tuple, kwargs: dict, out: torch.Tensor) -> torch.Tensor | None:
        if not self.enabled():
            return None
        interpolate = args[1] if len(args) > 1 else kwargs.get("interpolate_pos_encoding", False)
        if interpolate:
            raise UnsupportedBackboneError(
                f"{self.model_name} with interpolate_pos_encoding=True stretches its relative position bias over "
                "the prompt tokens; call it without that flag (mmadapt resizes through set_input_size)"
            )
        p = self.num_prompts
        return F.pad(out, (0, p, 0, p))  # (1, heads, N, N) -> (1, heads, N+P, N+P), zeros
