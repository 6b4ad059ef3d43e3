"""Two-group proportion statistics: Fisher's exact test and the Newcombe hybrid-score CI.

Used for the normal-CT endpoint (k of n subjects with a normal CT per arm). The difference is
always group 1 - group 2 (MSC - placebo when group 1 is the MSC arm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from quant.stats.samples import check_count

__all__ = ["FisherResult", "NewcombeResult", "fisher_exact", "newcombe_difference", "wilson_interval"]

# R's ``fisher.test`` treats probabilities within a relative 1e-7 of the observed one as equal.


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test on the 2x2 table [[k1, n1 - k1], [k2, n2 - k2]].

    Attributes:
        p_value: two-sided p, R's ``fisher.test`` definition (sum of the probabilities of all
            tables no more likely than the observed one, with relative tolerance 1e-7).
        odds_ratio: the sample (unconditional) odds ratio k1 (n2 - k2) / ((n1 - k1) k2); inf or
            nan where a cell is zero (R reports the conditional MLE instead; not used here).
    """

    p_value: float
    odds_ratio: float


@dataclass(frozen=True)
class NewcombeResult:
    """Difference of proportions p1 - p2 with Newcombe's hybrid-score CI (method 10)."""

    diff: float
    ci_low: float
    ci_high: float
    p1: float
    p2: float


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> FisherResult:
    """Two-sided Fisher exact test of k1/n1 versus k2/n2, computed as R's ``fisher.test``.

    Raises:
        ValueError: a count that is not an integer, k outside 0..n, or n < 1.
    """
    k1, n1 = check_count(k1, n1, "1")
    k2, n2 = check_count(k2, n2, "2")
    m = k1 + k2  # column 1 total (events)
    n = (n1 - k1) + (n2 - k2)  # column 2 total (non-events)
    k = n1  # row 1 total
    lo, hi = max(0, k - n), min(k, m)
    # Hypergeometric weights as exact integers (R uses dhyper, accurate to ~1e-15): comparisons
    # and sums are then exact, and only the final ratio is rounded.
    weights = [math.comb(m, x) * math.comb(n, k - x) for x in range(lo, hi + 1)]
    observed = weights[k1 - lo]
    # R: sum(d[d <= d[x - lo + 1] * relErr]) with relErr = 1 + 1e-7, compared in integers
    small = sum(w for w in weights if w * 10**7 <= observed * (10**7 + 1))
    p = small / sum(weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.float64(k1 * (n2 - k2)) / np.float64((n1 - k1) * k2)
    return FisherResult(p_value=min(p, 1.0), odds_ratio=float(odds))


def wilson_interval(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n, without continuity correction."""
    from scipy import special  # here, not at module level: report workers unpickle results without scipy
    k, n = check_count(k, n, "")
    if not 0.0 < conf < 1.0:
        raise ValueError(f"conf must lie strictly between 0 and 1, got {conf}")
    z = float(-special.ndtri((1.0 - conf) / 2.0))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # clamp float dust at the boundaries (k = 0 or k = n give exactly 0 or 1)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, conf: float = 0.95) -> NewcombeResult:
    """p1 - p2 with the Newcombe (1998) hybrid score interval (his method 10).

    Combines the two Wilson score intervals (l_i, u_i) without continuity correction:
    ``L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``, ``U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``.
    Newcombe RG, Stat Med 1998;17:873-890.

    Raises:
        ValueError: invalid counts or ``conf``.
    """
    k1, n1 = check_count(k1, n1, "1")
    k2, n2 = check_count(k2, n2, "2")
    l1, u1 = wilson_interval(k1, n1, conf)
    l2, u2 = wilson_interval(k2, n2, conf)
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return NewcombeResult(diff=d, ci_low=low, ci_high=high, p1=p1, p2=p2)
