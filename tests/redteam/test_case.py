"""The classifier of the red-team harness: what counts as a clear refusal, and what as raw, silent or lost."""

from __future__ import annotations

import pytest
import torch

from mmadapt.errors import ConfigError

from .case import Case, classify


def _case(run, **kw) -> Case:
    return Case("t/x", "t", 0, run, **kw)


def _raise(err: BaseException):
    def run():
        raise err

    return run


def test_an_mmadapt_error_of_one_line_naming_the_token_is_clear():
    assert (
        classify(_case(_raise(ConfigError("train.lr must be finite, got nan")), token=("train.lr", "nan"))).outcome
        == "clear"
    )


@pytest.mark.parametrize(
    "err",
    [
        KeyError("width"),
        AttributeError("x"),
        ZeroDivisionError(),
        RecursionError(),
        RuntimeError("PytorchStreamReader failed"),
    ],
)
def test_traceback_type_errors_are_raw(err):
    assert classify(_case(_raise(err))).outcome == "raw"


def test_a_message_that_spans_lines_or_misses_the_token_is_raw():
    assert classify(_case(_raise(ConfigError("bad\nvalue")))).outcome == "raw"
    assert classify(_case(_raise(ConfigError("a value is wrong")), token="num_classes")).outcome == "raw"


def test_a_value_error_raised_inside_torch_is_raw_even_if_it_names_the_token():
    def run():
        torch.zeros(2).view(3)  # torch's own RuntimeError

    def run_value():
        torch.nn.functional.pad(torch.zeros(2), (1,), mode="no-such-mode")

    assert classify(_case(run)).outcome == "raw"
    assert classify(_case(run_value, token="mode")).outcome == "raw"


def test_misleading_advice_makes_a_named_error_raw():
    err = ConfigError("clip.mp4: audio not found (missing_audio='zeros' allows it)")
    assert classify(_case(_raise(err), token="clip.mp4", forbid=("missing_audio='zeros'",))).outcome == "raw"


def test_an_accepted_bad_input_is_silent_and_a_failed_check_silent_or_lost():
    assert classify(_case(lambda: 3)).outcome == "silent"
    assert classify(_case(lambda: 3, expect=("ok",), check=lambda r: None)).outcome == "ok"
    assert classify(_case(lambda: 3, expect=("ok",), check=lambda r: "wrong")).outcome == "silent"
    assert classify(_case(lambda: 3, expect=("intact",), check=lambda r: None, lost_on_fail=True)).outcome == "intact"
    assert classify(_case(lambda: 3, expect=("intact",), check=lambda r: "gone", lost_on_fail=True)).outcome == "lost"


def test_a_clear_refusal_that_changed_the_model_is_silent():
    verdict = classify(_case(_raise(ConfigError("x")), after=lambda: "the model changed"))
    assert verdict.outcome == "silent" and "after: clear" in verdict.detail
