"""Exact null distribution of the Wilcoxon rank-sum (Mann-Whitney) statistic, as R computes it.

The statistic is R's ``W``: the rank sum of the first sample minus ``m (m + 1) / 2``, i.e. the
number of pairs (x_i, y_j) with x_i > y_j when there are no ties. Under H0 its counts are the
coefficients of the Gaussian binomial coefficient ``[m + n choose m]_q``, computed here with exact
Python integers (R's ``cwilcox`` uses doubles; exact counts make the tail sums exact, so the only
rounding is the final division). Mirrors R's ``pwilcox``/``qwilcox`` including the
``10 * DBL_EPSILON`` fuzz of ``qwilcox`` so that confidence-interval order statistics agree.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["wilcox_counts", "pwilcox", "pwilcox_upper", "qwilcox"]

_DBL_EPSILON = float(np.finfo(np.float64).eps)


@lru_cache(maxsize=128)
def wilcox_counts(m: int, n: int) -> tuple[int, ...]:
    """Exact counts c(w), w = 0..m*n, of the rank-sum statistic W for sample sizes m and n.

    ``sum(c) == comb(m + n, m)``. Computed as prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i).
    """
    if m < 0 or n < 0:
        raise ValueError(f"sample sizes must be non-negative, got m={m}, n={n}")
    if m > n:  # symmetric in (m, n); the shorter product is cheaper
        return wilcox_counts(n, m)
    size = m * n + 1
    c = np.zeros(size, dtype=object)
    c[:] = 0
    c[0] = 1
    for i in range(1, m + 1):
        s = n + i
        if s < size:
            # multiply by (1 - q^s); the right-hand side is evaluated before assignment
            c[s:] = c[s:] - c[: size - s]
        # divide by (1 - q^i): a forward recursion c[j] += c[j - i] per residue class
        for r in range(i):
            c[r::i] = np.cumsum(c[r::i])
    counts = tuple(int(v) for v in c)
    if sum(counts) != math.comb(m + n, m):  # cheap self-check of the recursion
        raise AssertionError("Wilcoxon count recursion failed")
    return counts


def pwilcox(q: float, m: int, n: int) -> float:
    """P(W <= q) under H0 (R's ``pwilcox(q, m, n)``)."""
    q = math.floor(q + 1e-7)
    if q < 0:
        return 0.0
    if q >= m * n:
        return 1.0
    c = wilcox_counts(m, n)
    return sum(c[: q + 1]) / math.comb(m + n, m)


def pwilcox_upper(q: float, m: int, n: int) -> float:
    """P(W > q) under H0 (R's ``pwilcox(q, m, n, lower.tail = FALSE)``), summed exactly."""
    q = math.floor(q + 1e-7)
    if q < 0:
        return 1.0
    if q >= m * n:
        return 0.0
    c = wilcox_counts(m, n)
    return sum(c[q + 1 :]) / math.comb(m + n, m)


def qwilcox(p: float, m: int, n: int) -> int:
    """Smallest w with P(W <= w) >= p, as R's ``qwilcox`` (same float accumulation and fuzz)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    c = wilcox_counts(m, n)
    total = float(math.comb(m + n, m))
    acc = 0.0
    if p <= 0.5:
        target = p - 10 * _DBL_EPSILON
        for w, cw in enumerate(c):
            acc += cw / total
            if acc >= target:
                return w
        return m * n
    target = 1 - p + 10 * _DBL_EPSILON
    for w, cw in enumerate(c):
        acc += cw / total
        if acc > target:
            return m * n - w
    return 0
