"""The few formulas written out on scipy.special (to keep scipy.stats' 0.6 s import out of
``lungread stats``) give scipy.stats' numbers: Fisher's p, Wilson's interval, Welch's t test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from quant.stats.proportions import fisher_exact, wilson_interval
from quant.stats.two_sample import welch_t_test


def test_fisher_p_equals_scipy_on_every_small_table():
    for n1, n2 in ((5, 7), (12, 9), (30, 30)):
        for k1, k2 in itertools.product(range(n1 + 1), range(n2 + 1)):
            ours = fisher_exact(k1, n1, k2, n2).p_value
            ref = stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue
            assert ours == pytest.approx(ref, rel=1e-9, abs=1e-14), (k1, n1, k2, n2)


@pytest.mark.parametrize("conf", [0.8, 0.95, 0.99])
def test_wilson_equals_scipy(conf):
    for n in (1, 2, 7, 56, 300):
        for k in sorted({0, 1, n // 3, n - 1, n}):
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
            assert wilson_interval(k, n, conf) == pytest.approx((ci.low, ci.high), abs=1e-12), (k, n)


@pytest.mark.parametrize("seed", range(20))
def test_welch_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 4), rng.integers(2, 40))
    y = rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 4), rng.integers(2, 40))
    conf = float(rng.choice([0.9, 0.95, 0.99]))
    ours = welch_t_test(x, y, conf)
    ref = stats.ttest_ind(x, y, equal_var=False)
    ci = ref.confidence_interval(confidence_level=conf)
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert ours.df == pytest.approx(ref.df, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-8, abs=1e-15)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
