"""The numbers a study reports: mean ± std over seeds, and the paired difference of two presets seed by seed.

Why paired: every seed trains all presets on the same backbones and data with the same seed, so much of a
seed's luck (which clips are hard for the adapters it draws) is shared; the difference per seed removes it, and
its spread is what decides whether one preset beats another. Two answers are given, because they fail apart:

* the mean difference with a 95 % confidence interval from the t distribution (n - 1 degrees of freedom), which
  assumes the per-seed differences are roughly normal;
* a two-sided sign test (exact binomial, p = 1/2) on how many seeds each preset won, which assumes nothing about
  the sizes; ties (equal values, up to :data:`TIE_TOLERANCE`) carry no sign and are left out of it, as the test
  prescribes.

scipy is imported inside the functions: the command line's parsing stays light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from ..errors import ConfigError

__all__ = ["PairedDifference", "mean_std", "paired_difference"]

CONFIDENCE = 0.95
"""Level of the confidence interval of a paired difference."""
TIE_TOLERANCE = 1e-9
"""Differences at most this large are ties: metrics are ratios of counts computed in floating point (a UAR of
one half came out 0.49999999999999994 beside 0.5 for another preset), far below one clip's weight."""


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and *sample* standard deviation (n - 1); the std of one value is 0 (no spread seen), of none NaN."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = math.fsum(values) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


@dataclass(frozen=True)
class PairedDifference:
    """``preset - reference`` over the seeds both have. ``ci_*`` are NaN with fewer than two seeds."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    wins: int
    """Seeds where the preset is above the reference."""
    losses: int
    ties: int
    sign_p: float
    """Two-sided sign-test p-value (1.0 when every seed is a tie)."""

    def to_dict(self) -> dict[str, float | int]:
        """Plain values (a NaN stays a float: :func:`mmadapt._io.write_json` writes it as ``"nan"``)."""
        return asdict(self)


def paired_difference(values: Mapping[int, float], reference: Mapping[int, float]) -> PairedDifference:
    """``values[s] - reference[s]`` for the seeds ``s`` both hold: mean, std, t-interval and sign test."""
    from scipy import stats

    seeds = [s for s in values if s in reference]
    if not seeds:
        raise ConfigError("paired_difference: the two presets share no seed")
    diffs = [float(values[s]) - float(reference[s]) for s in seeds]
    diffs = [0.0 if abs(d) <= TIE_TOLERANCE else d for d in diffs]  # rounding is not a win
    n = len(diffs)
    mean, std = mean_std(diffs)
    if n > 1:
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df=n - 1)) * std / math.sqrt(n)
        ci_low, ci_high = mean - half, mean + half
    else:
        ci_low = ci_high = math.nan
    wins, losses = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    decided = wins + losses
    sign_p = float(stats.binomtest(wins, decided, 0.5, alternative="two-sided").pvalue) if decided else 1.0
    return PairedDifference(n, mean, std, ci_low, ci_high, wins, losses, n - decided, sign_p)
