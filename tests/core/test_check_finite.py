"""Opt-in NaN/inf checks at the model's entrance and exit (issue 13 item 13).

Off (the default) nothing is checked and a NaN input flows through to NaN logits as before; on, a non-finite input
or logit stops the call with ``NonFiniteError`` naming the stream, the NaN/+inf/-inf counts and the first bad index
in row-major order. Finite inputs give the same logits and gradients either way; under ``torch.compile`` the
switched-off check costs no graph break.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mmadapt
from mmadapt import NonFiniteError
from mmadapt.checkpoint import CONFIG_NAME
from mmadapt.finite import describe_nonfinite

from .helpers import make_inputs, make_pair, randomise_gates, wrap

PAIRS = ["timm+timm", "hfvit+clip"]  # a timm and a Hugging Face pair
KINDS = {"nan": math.nan, "+inf": math.inf, "-inf": -math.inf}


@pytest.fixture(scope="module", params=PAIRS)
def built(request):
    audio, video, a_shape, v_shape = make_pair(request.param)
    model = wrap(audio, video)
    randomise_gates(model)
    video_x, audio_x = make_inputs(a_shape, v_shape, n=2, t=2)
    return model, {"video": video_x, "audio": audio_x}


@pytest.fixture
def pair(built):
    model, inputs = built
    yield model, {s: x.clone() for s, x in inputs.items()}
    model.check_finite = False


def _spoil(x: torch.Tensor, index: tuple[int, ...], kind: str) -> None:
    x[index] = KINDS[kind]


def _shape_text(x: torch.Tensor) -> str:
    return str(tuple(x.shape))


@pytest.mark.parametrize("stream", ["video", "audio"])
def test_off_by_default_a_nan_input_flows_through_to_nan_logits(pair, stream):
    model, inputs = pair
    assert model.check_finite is False
    _spoil(inputs[stream], (1,) + (0,) * (inputs[stream].dim() - 1), "nan")
    with torch.no_grad():
        logits = model(**inputs)
    assert torch.isnan(logits[1]).all() and torch.isfinite(logits[0]).all()  # clip 1 only: no check, no error


@pytest.mark.parametrize("stream", ["video", "audio"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_non_finite_input_is_named_with_its_counts_and_first_index(pair, stream, kind):
    model, inputs = pair
    x = inputs[stream]
    last = tuple(d - 1 for d in x.shape)
    first = (1,) + (0,) * (x.dim() - 1)
    _spoil(x, last, kind)
    _spoil(x, first, kind)
    model.check_finite = True
    with pytest.raises(NonFiniteError) as err:
        model(**inputs)
    assert str(err.value) == (
        f"input {stream!r}: 2 non-finite values of {x.numel()} (2 {kind}); first at {list(first)} "
        f"of shape {_shape_text(x)}"
    )
    assert err.value.exit_code == 1


def test_mixed_kinds_are_counted_apart(pair):
    model, inputs = pair
    x = inputs["video"]
    _spoil(x, (0, 1, 2, 5, 7), "nan")
    _spoil(x, (1, 0, 0, 0, 0), "+inf")
    _spoil(x, (1, 1, 0, 0, 0), "nan")
    model.check_finite = True
    with pytest.raises(
        NonFiniteError,
        match=r"^input 'video': 3 non-finite values of \d+ \(2 nan, 1 \+inf\); "
        r"first at \[0, 1, 2, 5, 7\] of shape",
    ):
        model(inputs)


_positions = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 2), st.integers(0, 31), st.integers(0, 31)),
    min_size=1,
    max_size=6,
    unique=True,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(positions=_positions, kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=6, max_size=6))
def test_the_first_index_is_the_row_major_first_of_random_positions(built, positions, kinds):
    model, clean = built
    x = clean["video"].clone()  # (n=2, T=2, C=3, 32, 32) for both pairs
    assert x.shape == (2, 2, 3, 32, 32)
    placed = dict(zip(positions, kinds, strict=False))
    for index, kind in placed.items():
        _spoil(x, index, kind)
    counts = {kind: sum(k == kind for k in placed.values()) for kind in KINDS}
    kinds_text = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    model.check_finite = True
    try:
        with pytest.raises(NonFiniteError) as err:
            model(video=x, audio=clean["audio"])
    finally:
        model.check_finite = False
    assert str(err.value) == (
        f"input 'video': {len(placed)} non-finite value{'s' if len(placed) > 1 else ''} of {x.numel()} "
        f"({kinds_text}); first at {list(min(placed))} of shape {_shape_text(x)}"
    )


@pytest.mark.parametrize(
    "x",
    [
        torch.full((4,), 3e38),
        torch.full((100,), 6e4, dtype=torch.float16),
        torch.full((2,), 1e300, dtype=torch.float64),
    ],
)
def test_large_finite_values_whose_sum_overflows_are_not_reported(x):
    assert describe_nonfinite("input 'x'", x) is None
    x[-1] = -math.inf
    assert describe_nonfinite("input 'x'", x) == (
        f"input 'x': 1 non-finite value of {x.numel()} (1 -inf); first at [{x.numel() - 1}] of shape {tuple(x.shape)}"
    )


def test_finite_inputs_give_the_same_logits_and_gradients_checked_or_not(pair):
    model, inputs = pair
    results = []
    for flag in (False, True):
        model.check_finite = flag
        model.zero_grad()
        logits = model(**inputs)
        (logits * torch.arange(logits.shape[-1])).sum().backward()
        results.append(
            (logits.detach(), {n: p.grad.clone() for n, p in model.adapter_named_parameters() if p.grad is not None})
        )
    (off, off_grads), (on, on_grads) = results
    assert torch.equal(off, on)
    assert off_grads.keys() == on_grads.keys() and off_grads
    assert all(torch.equal(off_grads[n], on_grads[n]) for n in off_grads)


def test_the_context_manager_checks_every_model_inside_and_nests(pair):
    model, inputs = pair
    _spoil(inputs["audio"], (0, 0, 3, 4), "nan")
    with mmadapt.check_finite():
        with mmadapt.check_finite():
            pass
        with pytest.raises(
            NonFiniteError,
            match=r"^input 'audio': 1 non-finite value of \d+ \(1 nan\); first at "
            r"\[0, 0, 3, 4\]",
        ):
            model(**inputs)
    assert model.check_finite is False
    with torch.no_grad():
        assert torch.isnan(model(**inputs)).any()  # the block closed: unchecked again


def test_a_non_finite_logit_from_finite_inputs_is_named_as_the_output(pair):
    model, inputs = pair
    weight = next(p for p in model.head.parameters() if p.dim() == 2)
    saved = weight.detach().clone()
    with torch.no_grad():
        weight.fill_(math.inf)  # +inf times inputs of both signs: NaN and infinities in the head
    model.check_finite = True
    try:
        with pytest.raises(
            NonFiniteError,
            match=r"^output 'logits': .*; the inputs were finite, so the model "
            r"produced them$",
        ):
            model(**inputs)
        with pytest.raises(NonFiniteError, match=r"^output 'features': "):
            model.forward_features(**inputs)
    finally:
        with torch.no_grad():
            weight.copy_(saved)


def test_the_switch_is_not_saved_with_the_adapter(pair, tmp_path):
    model, inputs = pair
    model.check_finite = True
    model.save_adapter(tmp_path / "adapter")
    assert "check_finite" not in (tmp_path / "adapter" / CONFIG_NAME).read_text()
    saved = json.loads((tmp_path / "adapter" / CONFIG_NAME).read_text())
    assert saved  # a real config was written
    model.load_adapter(tmp_path / "adapter")  # a checked model loads the adapter like an unchecked one
    assert model.check_finite is True


@pytest.mark.slow  # two compiles: ~8 s on two busy cores
def test_under_torch_compile_off_is_one_graph_and_on_still_raises():
    torch._dynamo.reset()
    audio, video, a_shape, v_shape = make_pair("timm+timm")
    model = wrap(audio, video)
    video_x, audio_x = make_inputs(a_shape, v_shape, n=1, t=2)
    eager = model(video_x, audio_x)
    out = torch.compile(model, fullgraph=True, backend="eager")(video_x, audio_x)  # raises on any graph break
    assert torch.equal(out, eager)
    model.check_finite = True
    compiled = torch.compile(model, backend="eager")  # on: the check runs outside the graph
    assert torch.equal(compiled(video_x, audio_x), eager)
    video_x[0, 1, 2, 3, 4] = math.nan
    with pytest.raises(NonFiniteError, match=r"^input 'video': 1 non-finite value .*first at \[0, 1, 2, 3, 4\]"):
        compiled(video_x, audio_x)
    torch._dynamo.reset()
