"""The paired test behind the gate: two models' per-review correctness on the same
reviews, compared with a one-sided exact McNemar mid-p test (numpy only, no scipy)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PairedComparison:
    """Per-review comparison of challenger and champion on the same test rows.

    Attributes:
        both_correct: Reviews both models classify right.
        champion_only_correct: Reviews only the champion gets right.
        challenger_only_correct: Reviews only the challenger gets right.
        both_wrong: Reviews both get wrong.
        accuracy_difference: Challenger accuracy minus champion accuracy.
        p_value_worse: One-sided exact McNemar mid-p value for "the challenger is worse".
    """

    both_correct: int
    champion_only_correct: int
    challenger_only_correct: int
    both_wrong: int
    accuracy_difference: float
    p_value_worse: float


def binomial_half_upper_tail_mid_p(successes: int, trials: int) -> float:
    """Mid-p upper tail of Binomial(trials, 1/2): P(X > successes) + P(X = successes) / 2.

    Computed from log factorials, so it stays exact enough for tens of thousands of
    trials without scipy.

    Args:
        successes: Observed count, 0 to ``trials``.
        trials: Number of trials; 0 gives 0.5 (no evidence either way).

    Returns:
        The mid-p value.
    """
    if not 0 <= successes <= trials:
        raise ValueError("successes must lie between 0 and trials")
    if trials == 0:
        return 0.5
    log_factorials = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, trials + 1)))))
    counts = np.arange(trials + 1)
    log_pmf = (
        log_factorials[trials]
        - log_factorials[counts]
        - log_factorials[trials - counts]
        - trials * math.log(2.0)
    )
    pmf = np.exp(log_pmf)
    upper = float(pmf[successes + 1 :].sum())
    return min(1.0, upper + 0.5 * float(pmf[successes]))


def paired_comparison(
    challenger_correct: np.ndarray, champion_correct: np.ndarray
) -> PairedComparison:
    """Compare two models' per-review correctness on the same reviews (McNemar).

    Only the discordant reviews carry evidence: under "equally good", the reviews only
    the champion gets right are Binomial(discordant, 1/2). A large count of them gives
    a small one-sided p value that the challenger is worse.

    Args:
        challenger_correct: Booleans, one per review.
        champion_correct: Booleans for the same reviews in the same order.

    Returns:
        The counts, accuracy difference and one-sided mid-p value.
    """
    challenger_correct = np.asarray(challenger_correct, dtype=bool)
    champion_correct = np.asarray(champion_correct, dtype=bool)
    if challenger_correct.shape != champion_correct.shape or challenger_correct.ndim != 1:
        raise ValueError("both correctness vectors must be one-dimensional and equally long")
    if challenger_correct.size == 0:
        raise ValueError("cannot compare on zero reviews")
    champion_only = int(np.count_nonzero(champion_correct & ~challenger_correct))
    challenger_only = int(np.count_nonzero(challenger_correct & ~champion_correct))
    discordant = champion_only + challenger_only
    p_value = 1.0 if discordant == 0 else binomial_half_upper_tail_mid_p(champion_only, discordant)
    return PairedComparison(
        both_correct=int(np.count_nonzero(challenger_correct & champion_correct)),
        champion_only_correct=champion_only,
        challenger_only_correct=challenger_only,
        both_wrong=int(np.count_nonzero(~challenger_correct & ~champion_correct)),
        accuracy_difference=(challenger_only - champion_only) / challenger_correct.size,
        p_value_worse=p_value,
    )
