"""The study's statistics against hand-computed values, and the invariants a paired comparison must keep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmadapt.study.stats import mean_std, paired_difference


def _paired(diffs: list[float]) -> object:
    """The paired difference of presets whose per-seed values differ by ``diffs`` (reference values 0.5)."""
    return paired_difference({s: 0.5 + d for s, d in enumerate(diffs)}, {s: 0.5 for s in range(len(diffs))})


def test_confidence_interval_of_known_data():
    # diffs 1..5: mean 3, sample std sqrt(2.5); t(0.975, df=4) = 2.776445 (table value)
    d = paired_difference({s: float(s + 1) for s in range(5)}, {s: 0.0 for s in range(5)})
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert (d.n, d.mean, d.std) == (5, 3.0, pytest.approx(math.sqrt(2.5)))
    assert d.ci_low == pytest.approx(3.0 - half, abs=1e-6) and d.ci_high == pytest.approx(3.0 + half, abs=1e-6)
    assert d.ci_low == pytest.approx(1.036757, abs=1e-5)


def test_two_seeds_use_the_wide_t_quantile():
    # df = 1: t(0.975) = 12.706205; diffs 0.1, 0.3 -> mean 0.2, std 0.141421
    d = _paired([0.1, 0.3])
    half = 12.706205 * (0.2 / math.sqrt(2)) / math.sqrt(2)
    assert d.ci_high - d.mean == pytest.approx(half, rel=1e-6)


@pytest.mark.parametrize(
    ("diffs", "wins", "losses", "ties", "p"),
    [
        ([0.1] * 5, 5, 0, 0, 2 / 2**5),  # all five seeds won: 2 * (1/2)^5
        ([0.1, -0.2, -0.1, -0.3, -0.1, -0.2], 1, 5, 0, 2 * (1 + 6) / 2**6),  # 2 * P(X <= 1), n = 6
        ([0.1, 0.1, 0.1, 0.0, 0.0], 3, 0, 2, 2 / 2**3),  # ties carry no sign: n = 3
        ([0.1, -0.1], 1, 1, 0, 1.0),
        ([0.0, 0.0, 0.0], 0, 0, 3, 1.0),  # nothing decided
    ],
)
def test_sign_test_of_known_signs(diffs, wins, losses, ties, p):
    d = _paired(diffs)
    assert (d.wins, d.losses, d.ties) == (wins, losses, ties)
    assert d.sign_p == pytest.approx(p)


def test_one_seed_has_no_interval_and_only_common_seeds_pair():
    d = paired_difference({0: 0.6, 1: 0.7}, {1: 0.5, 2: 0.9})
    assert d.n == 1 and d.mean == pytest.approx(0.2) and math.isnan(d.ci_low) and math.isnan(d.ci_high)
    with pytest.raises(Exception, match="share no seed"):
        paired_difference({0: 0.5}, {1: 0.5})


def test_mean_std_is_the_sample_std():
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == (2.5, pytest.approx(np.std([1, 2, 3, 4], ddof=1)))
    assert mean_std([0.7]) == (0.7, 0.0)
    assert all(math.isnan(v) for v in mean_std([]))


values = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=2, max_size=12)


@given(a=values, data=st.data())
def test_swapping_the_presets_negates_the_difference(a, data):
    b = data.draw(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=len(a), max_size=len(a)))
    ab = paired_difference(dict(enumerate(a)), dict(enumerate(b)))
    ba = paired_difference(dict(enumerate(b)), dict(enumerate(a)))
    assert ba.mean == pytest.approx(-ab.mean, abs=1e-12)
    assert ba.ci_low == pytest.approx(-ab.ci_high, abs=1e-12) and ba.ci_high == pytest.approx(-ab.ci_low, abs=1e-12)
    assert (ba.wins, ba.losses, ba.ties) == (ab.losses, ab.wins, ab.ties)
    assert ba.sign_p == pytest.approx(ab.sign_p)
    assert ab.ci_low <= ab.mean + 1e-12 and ab.mean <= ab.ci_high + 1e-12
    assert 0.0 <= ab.sign_p <= 1.0


def test_floating_point_rounding_is_a_tie_not_a_loss():
    """Two presets that both classify half the clips: one UAR came out 0.49999999999999994 in a real study."""
    d = paired_difference({0: 0.49999999999999994, 1: 0.5 + 1 / 96}, {0: 0.5, 1: 0.5})
    assert (d.wins, d.losses, d.ties) == (1, 0, 1)
