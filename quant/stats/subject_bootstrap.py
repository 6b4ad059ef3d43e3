"""Reader agreement over repeated visits: a subject-level (cluster) bootstrap of ICC(A,1) and the
Bland-Altman bias.

Pooling every visit of a trial treats four scans of one subject as four subjects, so the F-based
ICC interval and the t-based bias interval are too narrow when a subject's visits resemble each
other. Resampling whole subjects (all their read pairs together, with replacement) keeps that
correlation: the percentile interval of the resampled statistic accounts for it (Davison &
Hinkley 1997, section 3.8; Field & Welsh 2007).

Each replicate is computed from per-subject sums weighted by how often the subject was drawn, so
B replicates cost one (B x subjects) @ (subjects x 6) product and no copying of pairs. Units are
those of the inputs (lesion %, percentage points for the bias).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from quant.stats.agreement import icc_2_1
from quant.stats.samples import as_paired

__all__ = ["SubjectBootstrap", "subject_bootstrap_agreement", "weighted_icc_bias", "DEFAULT_BOOTSTRAP_SEED"]

#: Fixed so that a rerun of the analysis prints the same interval.
DEFAULT_BOOTSTRAP_SEED = 20161207


@dataclass(frozen=True)
class SubjectBootstrap:
    """ICC(A,1) and Bland-Altman bias (a - b) of all pairs, with percentile intervals from
    ``n_boot`` subject-level resamples (``n_failed`` replicates without variance left out)."""

    icc: float
    icc_ci_low: float
    icc_ci_high: float
    bias: float
    bias_ci_low: float
    bias_ci_high: float
    n_pairs: int
    n_subjects: int
    n_boot: int
    n_failed: int
    seed: int


def _subject_sums(a: np.ndarray, b: np.ndarray, subjects: Sequence[Hashable]) -> np.ndarray:
    """(subjects x 6): pairs, sum a, sum b, sum a^2, sum b^2, sum ab per subject."""
    _, index = np.unique(np.asarray([repr(s) for s in subjects]), return_inverse=True)
    cols = np.column_stack([np.ones_like(a), a, b, a * a, b * b, a * b])
    sums = np.zeros((int(index.max()) + 1, 6))
    np.add.at(sums, index, cols)
    return sums


def weighted_icc_bias(weights: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICC(A,1) of two raters and the mean difference a - b, for each row of ``weights``
    (replicates x subjects: how often each subject's pairs enter) from :func:`_subject_sums`.
    Equal to :func:`quant.stats.agreement.icc_a1` on the pairs written out; NaN where undefined."""
    t = np.atleast_2d(weights) @ sums
    n, sa, sb, saa, sbb, sab = t.T
    grand = (sa + sb) / (2.0 * n)
    ss_rows = 2.0 * ((saa + 2.0 * sab + sbb) / 4.0 - n * grand**2)
    ss_cols = n * ((sa / n - grand) ** 2 + (sb / n - grand) ** 2)
    ss_total = saa + sbb - 2.0 * n * grand**2
    msr = ss_rows / (n - 1.0)
    msc = ss_cols
    mse = np.maximum(ss_total - ss_rows - ss_cols, 0.0) / (n - 1.0)
    denom = msr + mse + 2.0 / n * (msc - mse)
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = np.where(denom > 0.0, (msr - mse) / denom, np.nan)
    return icc, (sa - sb) / n


def subject_bootstrap_agreement(
    r1: ArrayLike,
    r2: ArrayLike,
    subjects: Sequence[Hashable],
    n_boot: int = 2000,
    conf: float = 0.95,
    seed: int = DEFAULT_BOOTSTRAP_SEED,
) -> SubjectBootstrap:
    """ICC(A,1) and bias of paired reads ``r1``/``r2`` (element i: one scan, of subject
    ``subjects[i]``), with subject-level percentile bootstrap intervals.

    Raises:
        ValueError: fewer than 2 pairs or 2 subjects, length mismatch, NaN, or no variance.
    """
    a, b = as_paired(r1, r2, min_n=2)
    if len(subjects) != a.size:
        raise ValueError(f"one subject per pair: {a.size} pairs but {len(subjects)} subjects")
    if not 0.0 < conf < 1.0:
        raise ValueError(f"conf must lie strictly between 0 and 1, got {conf}")
    sums = _subject_sums(a, b, subjects)
    n_subjects = sums.shape[0]
    if n_subjects < 2:
        raise ValueError("a subject-level bootstrap needs at least 2 subjects")
    point = icc_2_1(a, b)  # refuses data without variance, with its own message
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_subjects, np.full(n_subjects, 1.0 / n_subjects), size=n_boot).astype(np.float64)
    icc, bias = weighted_icc_bias(weights, sums)
    ok = np.isfinite(icc)
    tails = [(1.0 - conf) / 2.0, (1.0 + conf) / 2.0]
    icc_lo, icc_hi = np.quantile(icc[ok], tails) if ok.any() else (np.nan, np.nan)
    bias_lo, bias_hi = np.quantile(bias, tails)
    return SubjectBootstrap(
        icc=point.icc, icc_ci_low=float(icc_lo), icc_ci_high=float(icc_hi),
        bias=float((a - b).mean()), bias_ci_low=float(bias_lo), bias_ci_high=float(bias_hi),
        n_pairs=int(a.size), n_subjects=int(n_subjects), n_boot=int(n_boot), n_failed=int((~ok).sum()), seed=seed,
    )
