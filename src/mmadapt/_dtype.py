"""Precision policy: frozen backbones may run in a half-precision stream while the adapters keep fp32 weights.

Why: the frozen encoders are > 95 % of the FLOPs and all of the activation memory. Under bf16 autocast with fp32
backbone weights the residual stream stays fp32 (every block's residual add, LayerNorm input and saved
activation), which the H100 profile shows as memory-bound glue. Casting the *frozen* weights to bf16 makes the
stream bf16; the adapters keep fp32 master weights so their small updates are not lost to bf16 rounding (PEFT does
the same with ``autocast_adapter_dtype``). Where an adapter meets the stream:

* inputs are cast to the patch embedding's dtype (as Hugging Face ViTs do with ``pixel_values``);
* the embed stage's output (patches + tuned fp32 positions + prompts, promoted to fp32) is cast to the stream dtype;
* adapter layers get their inputs in their own dtype unless autocast chooses the matmul dtype anyway;
* an adapter's residual write-back keeps the stream's dtype (:func:`mmadapt.adapters.fusion.gate.gated_residual`).
"""

from __future__ import annotations

import torch
from torch import nn

HALF_DTYPES = (torch.float16, torch.bfloat16)


def default_adapter_dtype(backbone_dtype: torch.dtype) -> torch.dtype:
    """fp32 adapters on half-precision backbones; otherwise the backbone's own dtype (fp32, fp64)."""
    return torch.float32 if backbone_dtype in HALF_DTYPES else backbone_dtype


def to_weight_dtype(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``x`` in ``dtype`` (the weights it is about to meet), unless autocast picks the compute dtype itself."""
    if x.dtype == dtype or torch.is_autocast_enabled(x.device.type):
        return x
    return x.to(dtype)


def module_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of a module's first floating-point parameter (its compute dtype outside autocast)."""
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()
