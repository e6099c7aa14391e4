"""The fusion's gated residual: its hand-written backward equals autograd's on the plain expression."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.adapters.fusion.gate import _GatedResidual, gated_residual


def _plain(x, h, gate):
    return x + torch.tanh(gate) * h


def _grads(fn, x, h, gate, weight):
    leaves = [t.detach().clone().requires_grad_() for t in (x, h, gate)]
    (fn(*leaves) * weight).sum().backward()
    return [t.grad for t in leaves]


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    x, h = (
        torch.randn(2, 3, 4, generator=g, dtype=torch.float64),
        torch.randn(2, 3, 4, generator=g, dtype=torch.float64),
    )
    gate = torch.tensor([0.3], dtype=torch.float64)
    inputs = tuple(t.requires_grad_() for t in (x, h, gate))
    assert torch.autograd.gradcheck(gated_residual, inputs)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    gate=st.floats(-3, 3),
    seed=st.integers(0, 2**16),
)
def test_matches_autograd_in_fp32(shape, gate, seed):
    g = torch.Generator().manual_seed(seed)
    x, h, w = (torch.randn(*shape, generator=g) for _ in range(3))
    gate_t = torch.tensor([gate])
    out = gated_residual(x.requires_grad_(), h, gate_t)
    torch.testing.assert_close(out, _plain(x, h, gate_t), rtol=1e-6, atol=1e-6)
    ref = _grads(_plain, x, h, gate_t, w)
    for fn in (gated_residual, _GatedResidual.apply):
        for ours, expected in zip(_grads(fn, x, h, gate_t, w), ref):
            torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fn", [gated_residual, _GatedResidual.apply], ids=["dispatch", "hand_written_backward"])
def test_mixed_dtypes_as_under_autocast(fn):
    """fp32 residual, bf16 h (the up-projection under bf16 autocast), fp32 gate: gradients come back in each
    input's dtype and agree with an fp64 computation to bf16 precision (the CPU dispatch keeps autograd for this
    case; CUDA takes the hand-written backward, checked here directly)."""
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(4, 7, 16, generator=g), torch.randn(4, 7, 16, generator=g)
    h = torch.randn(4, 7, 16, generator=g).bfloat16()
    gate = torch.tensor([0.4])
    gx, gh, gg = _grads(fn, x, h, gate, w)
    rx, rh, rg = _grads(_plain, x.double(), h.double(), gate.double(), w.double())
    assert (gx.dtype, gh.dtype, gg.dtype) == (torch.float32, torch.bfloat16, torch.float32)
    torch.testing.assert_close(gx.double(), rx)
    torch.testing.assert_close(gh.double(), rh, rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(gg.double(), rg, rtol=2e-2, atol=1e-2)


def test_zero_gate_is_the_identity_and_still_learns():
    x, h = torch.randn(3, 5), torch.randn(3, 5)
    gate = torch.zeros(1, requires_grad=True)
    out = gated_residual(x, h, gate)
    assert torch.equal(out, x)
    out.sum().backward()
    assert gate.grad.item() == pytest.approx(h.sum().item(), rel=1e-5)  # d tanh(0) = 1


def test_frozen_inputs_get_no_gradient():
    x, h = torch.randn(3, 5, requires_grad=True), torch.randn(3, 5)
    gate = torch.tensor([0.2])
    gated_residual(x, h, gate).sum().backward()
    assert torch.equal(x.grad, torch.ones(3, 5))


def test_rejects_broadcasting_inputs():
    with pytest.raises(ValueError, match="must match x"):
        gated_residual(torch.randn(3, 5), torch.randn(1, 5), torch.zeros(1))
    with pytest.raises(ValueError, match="one element"):
        gated_residual(torch.randn(3, 5), torch.randn(3, 5), torch.zeros(2))


def test_sum_of_products_dot_and_fallback_agree(monkeypatch):
    from mmadapt.adapters.fusion import gate

    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(1000, generator=g).bfloat16(), torch.randn(1000, generator=g).bfloat16()
    ref = (a.double() * b.double()).sum().item()
    dot = gate._sum_of_products(a, b)
    assert dot.item() == torch.dot(a, b).item() and dot.item() == pytest.approx(ref, rel=1e-2)
    monkeypatch.setattr(gate, "_DOT_LIMIT", 10)  # too long for the BLAS path: product, then fp32 sum
    fallback = gate._sum_of_products(a, b)
    assert fallback.dtype == torch.float32 and fallback.item() == pytest.approx(ref, rel=1e-2)


def test_dispatch_picks_the_measured_path():
    x, gate = torch.randn(3, 5, requires_grad=True), torch.zeros(1, requires_grad=True)
    assert gated_residual(x, torch.randn(3, 5), gate).grad_fn.name() == "_GatedResidualBackward"
    assert gated_residual(x, torch.randn(3, 5).bfloat16(), gate).grad_fn.name() == "AddcmulBackward0"  # CPU, mixed
    with torch.no_grad():
        assert gated_residual(x, torch.randn(3, 5), gate).grad_fn is None
