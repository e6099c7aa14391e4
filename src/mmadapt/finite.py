"""Opt-in NaN/inf checks of a model's inputs and logits.

Switched on per model (``model.check_finite = True``), for every model inside ``with mmadapt.check_finite():``,
by ``TrainConfig.check_finite`` or by ``mmadapt train/eval/predict --check-finite``. A NaN in a clip otherwise
surfaces as NaN logits (or a skipped step) several layers later; checked, the first bad tensor stops the call
with :class:`~mmadapt.errors.NonFiniteError` naming the stream, the counts and the first bad index.

Off by default because a check reads every value and waits for the device. Off, a call pays one Python flag test,
which ``torch.compile`` turns into a guard: no graph break. On, each check runs outside the compiled graph (one
break per checked tensor). The switch is not part of the saved adapter config: it changes no weight and no output,
and an adapter saved by a checked run must load into an unchecked model.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from .errors import NonFiniteError

__all__ = ["check_finite", "checks_active", "describe_nonfinite", "enable_check_finite", "raise_if_nonfinite"]

_open = 0
"""Open ``check_finite()`` blocks: process-wide, like a debugging switch (read as a guard under torch.compile)."""


@contextmanager
def check_finite() -> Iterator[None]:
    """Check the inputs and logits of every :class:`~mmadapt.MultimodalAdapterModel` called inside the block, as
    ``model.check_finite = True`` does for one model. Blocks nest."""
    global _open
    _open += 1
    try:
        yield
    finally:
        _open -= 1


def checks_active() -> bool:
    """Whether a ``check_finite()`` block is open."""
    return _open > 0


def describe_nonfinite(what: str, x: torch.Tensor) -> str | None:
    """``None`` if every value of ``x`` is finite, else one line: how many values are NaN, +inf and -inf and the
    index of the first in row-major order, e.g. ``input 'video': 3 non-finite values of 18432 (2 nan, 1 +inf);
    first at [0, 1, 2, 5, 7] of shape (2, 3, 3, 32, 32)``."""
    # fast path, one reduction without a mask: any NaN/inf makes the sum NaN/inf (inf - inf is NaN too)
    if bool(torch.isfinite(x.sum(dtype=torch.float32))):
        return None
    bad = ~torch.isfinite(x)
    if not bool(bad.any()):  # the sum overflowed, the values are finite
        return None
    counts = {
        "nan": int(torch.isnan(x).sum()),
        "+inf": int(torch.isposinf(x).sum()),
        "-inf": int(torch.isneginf(x).sum()),
    }
    total = sum(counts.values())
    kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    flat = int(bad.flatten().to(torch.uint8).argmax())  # argmax returns the first maximum: the first bad value
    index = []
    for size in reversed(x.shape):
        flat, i = divmod(flat, size)
        index.append(i)
    values = "value" if total == 1 else "values"
    return (
        f"{what}: {total} non-finite {values} of {x.numel()} ({kinds}); first at {index[::-1]} "
        f"of shape {tuple(x.shape)}"
    )


@torch.compiler.disable  # reads values and may raise: kept out of a compiled graph rather than traced into it
def raise_if_nonfinite(tensors: Mapping[str, torch.Tensor], hint: str = "") -> None:
    """Raise :class:`~mmadapt.errors.NonFiniteError` for the first of ``tensors`` (``{what: tensor}``, e.g.
    ``{"input 'video'": x}``) holding NaN/inf; ``hint`` is appended to the message."""
    for what, x in tensors.items():
        message = describe_nonfinite(what, x)
        if message is not None:
            raise NonFiniteError(message + hint)


def enable_check_finite(model: nn.Module) -> None:
    """Switch the checks on for ``model`` (what ``TrainConfig.check_finite`` does). A model without the switch (a
    custom stream model) is warned about and runs unchecked."""
    if not hasattr(model, "check_finite"):
        name = type(model).__name__
        warnings.warn(f"{name} has no check_finite switch; TrainConfig.check_finite ignored", stacklevel=2)
        return
    model.check_finite = True
