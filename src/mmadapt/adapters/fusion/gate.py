"""The gated residual ``x + tanh(gate) * h`` of the fusion bottleneck, with a leaner eager backward.

Why: under bf16 autocast with fp32 backbone weights the residual stream ``x`` is fp32 while ``h`` (the
up-projection's GELU output) is bf16 (with bf16 backbone weights both are bf16, see :mod:`mmadapt._dtype`).
Autograd's backward of ``x + t * h`` then writes two full-width fp32 products
(``grad * t``, ``grad * h``), casts the first to bf16 and reduces the second to the one-element gate gradient; in
the H100 profile (``benchmarks/profile_step.py``) those products and sums cost more than all of the fusion's
matrix products. Here the incoming gradient is cast to ``h``'s dtype once, ``grad_h`` is one product in that
dtype and the gate gradient is one dot product (fp32 accumulation) that never materialises ``grad * h``; with
one dtype throughout it is the same arithmetic.

Measured (``benchmarks/bench_gate.py``, RESULTS.md): 1.7x faster than autograd on the development CPU in fp32 (one
fused block at 112 px); with a bf16 ``h`` on the CPU it was slower (0.73x), so that case keeps autograd. On an H100
(fp32 ``x``, bf16 ``h``, a ViT-B/16 fused block at 160 px) it is 1.37x faster. Under ``torch.compile`` the plain
expression is used: the compiler fuses it on its own.
"""

from __future__ import annotations

import torch

_DOT_LIMIT = 2**31 - 1
"""cuBLAS takes the vector length as a 32-bit int."""


def _sum_of_products(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum(a * b) of two flat vectors: a BLAS dot product (fp32 accumulation, no product tensor) where the backend
    has one for the dtype (CPU; CUDA, whose cuBLAS dot takes bf16/fp16; not ROCm), else product then fp32 sum."""
    blas_dot = a.device.type == "cpu" or (a.device.type == "cuda" and torch.version.hip is None)
    if blas_dot and a.numel() <= _DOT_LIMIT:
        return torch.dot(a, b)
    return torch.sum(a * b, dtype=torch.float32)


def _narrowed(other: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``other`` cast to ``x``'s dtype where it is wider, so that ``x op other`` stays in ``x``'s dtype."""
    return other if torch.promote_types(x.dtype, other.dtype) == x.dtype else other.to(x.dtype)


class _GatedResidual(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, h: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        t = torch.tanh(gate)
        ctx.save_for_backward(h, t)
        ctx.x_dtype = x.dtype
        return torch.addcmul(x, h, _narrowed(t, x))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, t = ctx.saved_tensors
        need_x, need_h, need_gate = ctx.needs_input_grad
        g = grad.to(h.dtype)  # one cast, shared by both products below
        grad_h = g * t.to(h.dtype) if need_h else None
        grad_gate = None
        if need_gate:
            grad_t = _sum_of_products(g.reshape(-1), h.reshape(-1)).to(t.dtype)
            grad_gate = (grad_t * (1 - t * t)).reshape(t.shape)
        return grad.to(ctx.x_dtype) if need_x else None, grad_h, grad_gate


def gated_residual(x: torch.Tensor, h: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """``x + tanh(gate) * h`` for a one-element ``gate`` and ``h`` of ``x``'s shape, in ``x``'s dtype.

    The result keeps the residual stream's dtype: with a bf16 stream (half-precision frozen backbones) a wider
    ``h`` or the fp32 gate is cast down first, so the stream never silently turns fp32. The forward is the same
    ``addcmul`` on every path, so training and inference see identical numbers.
    """
    if h.shape != x.shape or gate.numel() != 1:
        raise ValueError(
            f"gated_residual: h {tuple(h.shape)} must match x {tuple(x.shape)} and gate must have one "
            f"element, got {tuple(gate.shape)}"
        )
    h = _narrowed(h, x)
    cpu_mixed = x.device.type == "cpu" and h.dtype != x.dtype  # CPU bf16 element-wise kernels are slow (bench_gate)
    if torch.compiler.is_compiling() or not torch.is_grad_enabled() or cpu_mixed:
        return torch.addcmul(x, h, _narrowed(torch.tanh(gate), x))
    return _GatedResidual.apply(x, h, gate)
