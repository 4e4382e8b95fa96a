"""The exact paired test (McNemar mid-p) against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sentiment.release.paired_test import binomial_half_upper_tail_mid_p, paired_comparison


def test_paired_comparison_counts_discordant_reviews() -> None:
    challenger = np.array([1, 1, 0, 0, 1, 1], dtype=bool)
    champion = np.array([1, 0, 1, 0, 1, 0], dtype=bool)
    comparison = paired_comparison(challenger, champion)
    assert comparison.both_correct == 2
    assert comparison.challenger_only_correct == 2
    assert comparison.champion_only_correct == 1
    assert comparison.both_wrong == 1
    assert comparison.accuracy_difference == pytest.approx(1 / 6)
    # champion-only 1 of 3 discordant: P(X > 1) + P(X = 1) / 2 = 4/8 + 3/16.
    assert comparison.p_value_worse == pytest.approx(0.5 + 3 / 16)


@pytest.mark.parametrize(
    ("successes", "trials", "expected"),
    [(3, 3, 1 / 16), (2, 4, 0.5), (0, 2, 1 - 1 / 8), (5, 10, 0.5)],
)
def test_mid_p_small_cases(successes: int, trials: int, expected: float) -> None:
    assert binomial_half_upper_tail_mid_p(successes, trials) == pytest.approx(expected)


def test_mid_p_matches_exact_sums_for_large_counts() -> None:
    trials, successes = 600, 330
    exact = sum(math.comb(trials, k) for k in range(successes + 1, trials + 1))
    exact += math.comb(trials, successes) / 2
    assert binomial_half_upper_tail_mid_p(successes, trials) == pytest.approx(
        exact / 2**trials, rel=1e-9
    )
