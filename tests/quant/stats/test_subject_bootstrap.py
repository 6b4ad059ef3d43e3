"""The subject-level bootstrap of reader agreement over repeated visits."""

from __future__ import annotations

import numpy as np
import pytest

from quant.stats.agreement import bland_altman, icc_2_1
from quant.stats.subject_bootstrap import _subject_sums, subject_bootstrap_agreement, weighted_icc_bias


def _reads(n_subjects: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.gamma(2.0, 5.0, n_subjects)
    return truth + rng.normal(0.3, 1.0, n_subjects), truth + rng.normal(0.0, 1.0, n_subjects)


def test_each_replicate_equals_the_icc_of_the_pairs_written_out():
    a, b = _reads(12)
    subjects = [f"S{i // 3}" for i in range(12)]  # 4 subjects x 3 visits
    sums = _subject_sums(a, b, subjects)
    rng = np.random.default_rng(5)
    for counts in rng.multinomial(4, [0.25] * 4, size=6):
        rows = [i for s in range(4) for _ in range(counts[s]) for i in range(12) if subjects[i] == f"S{s}"]
        icc, bias = weighted_icc_bias(counts.astype(float)[None, :], sums)
        assert icc[0] == pytest.approx(icc_2_1(a[rows], b[rows]).icc, abs=1e-12)
        assert bias[0] == pytest.approx(bland_altman(a[rows], b[rows]).bias, abs=1e-12)


def test_repeated_visits_do_not_narrow_the_bootstrap_interval():
    a, b = _reads(30)
    one = subject_bootstrap_agreement(a, b, [f"S{i}" for i in range(30)])
    # The same 30 scans, each copied as 4 "visits" that carry no new information.
    a4, b4 = np.repeat(a, 4), np.repeat(b, 4)
    four = subject_bootstrap_agreement(a4, b4, [f"S{i}" for i in range(30) for _ in range(4)])
    pooled = icc_2_1(a4, b4)  # the F interval treats the 120 pairs as 120 subjects
    assert four.icc == pytest.approx(pooled.icc) and four.n_pairs == 120 and four.n_subjects == 30
    width = lambda lo, hi: hi - lo  # noqa: E731
    assert width(four.icc_ci_low, four.icc_ci_high) == pytest.approx(width(one.icc_ci_low, one.icc_ci_high), rel=0.1)
    assert width(pooled.ci_low, pooled.ci_high) < 0.6 * width(four.icc_ci_low, four.icc_ci_high)
    assert four.icc_ci_low < four.icc < four.icc_ci_high
    assert four.bias_ci_low < four.bias < four.bias_ci_high
    # With one scan per subject the bootstrap agrees with the F interval to within its own noise.
    f = icc_2_1(a, b)
    assert abs(one.icc_ci_low - f.ci_low) < 0.05 and abs(one.icc_ci_high - f.ci_high) < 0.05
    # Fixed seed: the same interval on every run; another seed: a different one.
    assert subject_bootstrap_agreement(a, b, [f"S{i}" for i in range(30)]) == one
    assert subject_bootstrap_agreement(a, b, [f"S{i}" for i in range(30)], seed=3).icc_ci_low != one.icc_ci_low


def test_refusals():
    a, b = _reads(6)
    with pytest.raises(ValueError, match="one subject per pair"):
        subject_bootstrap_agreement(a, b, ["S1"] * 5)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        subject_bootstrap_agreement(a, b, ["S1"] * 6)
    with pytest.raises(ValueError, match="no variance"):
        subject_bootstrap_agreement([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], ["S1", "S2", "S3"])
