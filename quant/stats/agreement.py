"""Reader agreement: ICC(A,1), Bland-Altman limits and Cohen's kappa.

Inputs are paired per scan: element i of each argument belongs to the same scan. Units of the
continuous statistics are those of the inputs (lesion % for LungRead).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from quant.stats.samples import as_paired

__all__ = [
    "IccResult",
    "BlandAltman",
    "KappaResult",
    "icc_a1",
    "icc_2_1",
    "bland_altman",
    "cohen_kappa",
    "BLAND_ALTMAN_Z",
]

#: Multiplier of the SD for the 95% limits of agreement, as in Bland & Altman (Lancet 1986).
BLAND_ALTMAN_Z = 1.96


@dataclass(frozen=True)
class IccResult:
    """ICC(A,1) (= Shrout & Fleiss ICC(2,1)) with its CI and the ANOVA mean squares it came from.

    ms_rows: between-subject mean square; ms_cols: between-rater; ms_error: residual.
    f_value / p_value: the F test of ICC = 0 (MSR / MSE with n-1, (n-1)(k-1) df).
    """

    icc: float
    ci_low: float
    ci_high: float
    n_subjects: int
    n_raters: int
    ms_rows: float
    ms_cols: float
    ms_error: float
    f_value: float
    p_value: float


@dataclass(frozen=True)
class BlandAltman:
    """Bland-Altman agreement of r1 - r2: mean difference (bias), SD and bias -/+ 1.96 SD."""

    bias: float
    sd: float
    loa_low: float
    loa_high: float
    n: int


@dataclass(frozen=True)
class KappaResult:
    """Cohen's kappa with the Fleiss-Cohen-Everitt (1969) asymptotic (non-null) SE and Wald CI,
    the CI clipped to kappa's range [-1, 1]."""

    kappa: float
    se: float
    ci_low: float
    ci_high: float
    observed_agreement: float
    expected_agreement: float
    n: int
    categories: tuple


def icc_a1(ratings: ArrayLike, conf: float = 0.95) -> IccResult:
    """ICC for absolute agreement, single measure, two-way random effects (McGraw & Wong ICC(A,1)).

    Args:
        ratings: n_subjects x k_raters matrix (no NaN; complete cases only), n >= 2, k >= 2.
        conf: two-sided level of the F-based CI (McGraw & Wong 1996, as R's ``irr::icc``).

    Raises:
        ValueError: wrong shape, NaN, or no variance at all (the ICC is undefined).
    """
    from scipy import special  # here, not at module level: report workers unpickle results without scipy
    r = np.asarray(ratings, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] < 2:
        raise ValueError(f"ratings must be an n_subjects x k_raters matrix with n, k >= 2; got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("ratings contain NaN or infinite values; use complete pairs only")
    if not 0.0 < conf < 1.0:
        raise ValueError(f"conf must lie strictly between 0 and 1, got {conf}")
    n, k = r.shape
    grand = r.mean()
    ss_rows = k * float(np.sum((r.mean(axis=1) - grand) ** 2))
    ss_cols = n * float(np.sum((r.mean(axis=0) - grand) ** 2))
    ss_total = float(np.sum((r - grand) ** 2))
    ss_err = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = max(ss_err, 0.0) / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k / n * (msc - mse)
    if denom <= 0.0:
        raise ValueError("the ratings have no variance: the ICC is undefined")
    icc = (msr - mse) / denom
    df1, df2 = n - 1, (n - 1) * (k - 1)
    f_value = msr / mse if mse > 0 else math.inf
    p_value = float(special.fdtrc(df1, df2, f_value)) if mse > 0 else 0.0  # F upper tail
    alpha = 1.0 - conf
    if mse == 0.0 or icc >= 1.0:
        lo, hi = icc, 1.0  # perfect agreement: the F-based interval degenerates
    else:
        a = k * icc / (n * (1.0 - icc))
        b = 1.0 + k * icc * (n - 1) / (n * (1.0 - icc))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
        # upper alpha/2 quantiles of F (R: qf(1 - alpha/2, ...))
        f_l = float(special.fdtri(n - 1, v, 1.0 - alpha / 2.0))
        f_u = float(special.fdtri(v, n - 1, 1.0 - alpha / 2.0))
        lo = n * (msr - f_l * mse) / (f_l * (k * msc + (k * n - k - n) * mse) + n * msr)
        hi = n * (f_u * msr - mse) / (k * msc + (k * n - k - n) * mse + n * f_u * msr)
    return IccResult(
        icc=float(icc),
        ci_low=float(lo),
        ci_high=float(hi),
        n_subjects=n,
        n_raters=k,
        ms_rows=msr,
        ms_cols=msc,
        ms_error=mse,
        f_value=float(f_value),
        p_value=p_value,
    )


def icc_2_1(r1: ArrayLike, r2: ArrayLike, conf: float = 0.95) -> IccResult:
    """ICC(2,1) of two readers' paired measurements (e.g. lesion % of the same scans)."""
    a, b = as_paired(r1, r2, min_n=2)
    return icc_a1(np.column_stack([a, b]), conf)


def bland_altman(r1: ArrayLike, r2: ArrayLike) -> BlandAltman:
    """Bias (mean of r1 - r2), SD of the differences (n - 1) and 95% limits bias -/+ 1.96 SD."""
    a, b = as_paired(r1, r2, min_n=2)
    d = a - b
    bias = float(d.mean())
    sd = float(d.std(ddof=1))
    return BlandAltman(bias, sd, bias - BLAND_ALTMAN_Z * sd, bias + BLAND_ALTMAN_Z * sd, int(d.size))


def _as_categories(values: Sequence[Hashable] | ArrayLike, name: str) -> list:
    seq = list(np.asarray(values, dtype=object).ravel()) if not isinstance(values, list) else list(values)
    if not seq:
        raise ValueError(f"{name} is empty")
    for v in seq:
        if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
            raise ValueError(f"{name} contains a missing value (None/NaN); use complete pairs only")
    # numpy scalars -> Python values, so that categories print and sort plainly
    return [v.item() if isinstance(v, np.generic) else v for v in seq]


def cohen_kappa(a: Sequence[Hashable] | ArrayLike, b: Sequence[Hashable] | ArrayLike, conf: float = 0.95) -> KappaResult:
    """Cohen's (unweighted) kappa of two raters' categorical calls, with a Wald CI.

    SE: the large-sample (non-null) standard error of Fleiss, Cohen & Everitt (Psychol Bull
    1969;72:323-327), the same as SAS PROC FREQ's ASE; CI = kappa -/+ z * SE, clipped to [-1, 1]
    (kappa cannot leave that range; a Wald bound beyond it, e.g. 1.062, is not a possible value).

    Raises:
        ValueError: empty input, missing values, length mismatch, or only one category used by
            both raters (chance agreement 1: kappa undefined).
    """
    from scipy import special  # here, not at module level: report workers unpickle results without scipy
    ca = _as_categories(a, "a")
    cb = _as_categories(b, "b")
    if len(ca) != len(cb):
        raise ValueError(f"a and b are paired and must have the same length (got {len(ca)} and {len(cb)})")
    if not 0.0 < conf < 1.0:
        raise ValueError(f"conf must lie strictly between 0 and 1, got {conf}")
    cats = sorted(set(ca) | set(cb), key=repr)
    idx = {c: i for i, c in enumerate(cats)}
    q = len(cats)
    table = np.zeros((q, q))
    for u, v in zip(ca, cb):
        table[idx[u], idx[v]] += 1
    n = len(ca)
    p = table / n
    row = p.sum(axis=1)
    col = p.sum(axis=0)
    po = float(np.trace(p))
    pe = float(row @ col)
    if pe >= 1.0:
        raise ValueError("both raters used a single, identical category: kappa is undefined")
    kappa = (po - pe) / (1.0 - pe)
    # Fleiss, Cohen & Everitt (1969), eq. 13
    diag = np.diag(p)
    term_a = float(np.sum(diag * (1.0 - (row + col) * (1.0 - kappa)) ** 2))
    off = p.copy()
    np.fill_diagonal(off, 0.0)
    weights = (col[:, None] + row[None, :]) ** 2  # (p_.i + p_j.)^2 for cell (i, j)
    term_b = (1.0 - kappa) ** 2 * float(np.sum(off * weights))
    term_c = (kappa - pe * (1.0 - kappa)) ** 2
    var = max(term_a + term_b - term_c, 0.0) / ((1.0 - pe) ** 2 * n)
    se = math.sqrt(var)
    z = float(-special.ndtri((1.0 - conf) / 2.0))
    return KappaResult(
        kappa=float(kappa),
        se=se,
        ci_low=max(-1.0, float(kappa - z * se)),
        ci_high=min(1.0, float(kappa + z * se)),
        observed_agreement=po,
        expected_agreement=pe,
        n=n,
        categories=tuple(cats),
    )

