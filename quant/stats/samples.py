"""Input validation shared by the statistics modules (endpoints, proportions, agreement).

Statistics must never run silently on bad input: a NaN, an empty group or two rater vectors of
different length raise :class:`ValueError` with a message naming the argument, so a caller (the
analysis layer) can decide to report the statistic as not estimable instead.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["as_sample", "as_paired", "check_count"]


def as_sample(values: ArrayLike, name: str, *, min_n: int = 1) -> NDArray[np.float64]:
    """Return ``values`` as a finite 1-D float64 array of at least ``min_n`` values.

    Raises:
        ValueError: not 1-D, fewer than ``min_n`` values, or any NaN/infinite value.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: a group needs at least {min_n} value(s)")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); drop missing values first")
    if arr.size < min_n:
        raise ValueError(f"{name} has {arr.size} value(s); at least {min_n} are needed")
    return arr


def as_paired(
    a: ArrayLike, b: ArrayLike, names: tuple[str, str] = ("r1", "r2"), *, min_n: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate two paired numeric vectors (same subjects, same order) of equal length."""
    x = as_sample(a, names[0], min_n=min_n)
    y = as_sample(b, names[1], min_n=min_n)
    if x.size != y.size:
        raise ValueError(
            f"{names[0]} and {names[1]} are paired and must have the same length "
            f"(got {x.size} and {y.size})"
        )
    return x, y


def check_count(k: int, n: int, name: str) -> tuple[int, int]:
    """Validate a binomial count ``k`` out of ``n`` (integers, 0 <= k <= n, n >= 1)."""
    for label, v in ((f"k{name}", k), (f"n{name}", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            if isinstance(v, float) and np.isnan(v):
                raise ValueError(f"{label} is NaN; counts must be integers")
            raise ValueError(f"{label} must be an integer count, got {v!r}")
    k, n = int(k), int(n)
    if n < 1:
        raise ValueError(f"n{name} = {n}: a group needs at least one subject")
    if not 0 <= k <= n:
        raise ValueError(f"k{name} = {k} is outside 0..n{name} = {n}")
    return k, n
