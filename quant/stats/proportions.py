"""Two-group proportion statistics: Fisher's exact test, the conditional odds ratio and the
Newcombe hybrid-score CI for a difference of proportions.

Used for the normal-CT endpoint (k of n subjects with a normal CT per arm). Proportions and their
difference are fractions (0..1, not percent). The difference is always group 1 - group 2
(treatment - control when group 1 is the treatment arm); the odds ratio is group 1 : group 2.

The p value and the Wilson intervals are written out with ``scipy.special`` and exact integers,
not taken from ``scipy.stats``: importing ``scipy.stats`` costs about 0.6 s of CPU, a third of
``lungread stats``'s 2 s budget, for formulas of a few lines. Tests check them against
``scipy.stats.fisher_exact`` and ``binomtest().proportion_ci`` (and R). The conditional odds ratio
(:func:`fisher_odds_ratio`, for the calculator only) does come from ``scipy.stats``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quant.stats.samples import check_count

__all__ = [
    "FisherResult",
    "OddsRatioResult",
    "NewcombeResult",
    "fisher_exact",
    "fisher_odds_ratio",
    "newcombe_difference",
    "wilson_interval",
]


@dataclass(frozen=True)
class FisherResult:
    """Fisher's exact test on the 2x2 table [[k1, n1 - k1], [k2, n2 - k2]].

    Attributes:
        p_value: two-sided p, R's ``fisher.test`` definition (sum of the probabilities of all
            tables no more likely than the observed one).
        odds_ratio: the sample (unconditional) odds ratio k1 (n2 - k2) / ((n1 - k1) k2); inf or
            nan where a cell is zero. R reports the conditional MLE instead: see
            :func:`fisher_odds_ratio`.
    """

    p_value: float
    odds_ratio: float


@dataclass(frozen=True)
class OddsRatioResult:
    """Conditional maximum-likelihood odds ratio (group 1 : group 2) with its exact CI, as the
    ``estimate`` and ``conf.int`` of R's ``fisher.test``. ``ci_high`` may be inf, ``estimate``
    inf (or nan when both groups have no events, or only events)."""

    estimate: float
    ci_low: float
    ci_high: float
    conf_level: float


@dataclass(frozen=True)
class NewcombeResult:
    """Difference of proportions p1 - p2 with Newcombe's hybrid-score CI (method 10)."""

    diff: float
    ci_low: float
    ci_high: float
    p1: float
    p2: float


def _check_conf(conf: float) -> None:
    if not 0.0 < conf < 1.0:
        raise ValueError(f"conf must lie strictly between 0 and 1, got {conf}")


def _table(k1: int, n1: int, k2: int, n2: int) -> list[list[int]]:
    k1, n1 = check_count(k1, n1, "1")
    k2, n2 = check_count(k2, n2, "2")
    return [[k1, n1 - k1], [k2, n2 - k2]]


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> FisherResult:
    """Two-sided Fisher exact test of k1/n1 versus k2/n2 (R's ``fisher.test`` p value).

    Raises:
        ValueError: a count that is not an integer, k outside 0..n, or n < 1.
    """
    (a, b), (c, d) = _table(k1, n1, k2, n2)
    m = a + c  # column 1 total (events)
    n = b + d  # column 2 total (non-events)
    k = a + b  # row 1 total
    lo, hi = max(0, k - n), min(k, m)
    # Hypergeometric weights as exact integers (R uses dhyper, accurate to ~1e-15): comparisons
    # and sums are then exact, and only the final ratio is rounded.
    weights = [math.comb(m, x) * math.comb(n, k - x) for x in range(lo, hi + 1)]
    observed = weights[a - lo]
    # R: sum(d[d <= d[x - lo + 1] * relErr]) with relErr = 1 + 1e-7, compared in integers
    small = sum(w for w in weights if w * 10**7 <= observed * (10**7 + 1))
    odds = a * d / (b * c) if b * c else (math.inf if a * d else math.nan)
    return FisherResult(p_value=min(small / sum(weights), 1.0), odds_ratio=float(odds))


def fisher_odds_ratio(k1: int, n1: int, k2: int, n2: int, conf: float = 0.95) -> OddsRatioResult:
    """Conditional MLE of the odds ratio and its two-sided exact CI, as R's ``fisher.test``."""
    from scipy.stats.contingency import odds_ratio  # lazy: scipy.stats is slow to import

    table = _table(k1, n1, k2, n2)
    _check_conf(conf)
    res = odds_ratio(table, kind="conditional")
    ci = res.confidence_interval(confidence_level=conf, alternative="two-sided")
    return OddsRatioResult(float(res.statistic), float(ci.low), float(ci.high), conf)


def wilson_interval(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n, without continuity correction."""
    from scipy import special  # here, not at module level: report workers unpickle results without scipy

    k, n = check_count(k, n, "")
    _check_conf(conf)
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
    Newcombe RG, Stat Med 1998;17:873-890; statsmodels'
    ``confint_proportions_2indep(method="newcomb")``.

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
