"""Fisher's exact test, the conditional odds ratio and the Newcombe interval (quant.stats.proportions)
against R's printed values and against formulas written out independently of the implementation."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from quant.stats.proportions import fisher_exact, fisher_odds_ratio, newcombe_difference, wilson_interval


def _wilson_newcombe_1998(k: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval in Newcombe (1998)'s closed form (his method 3):
    (2 n p + z^2 -/+ z sqrt(z^2 + 4 n p q)) / (2 (n + z^2))."""
    p = k / n
    q = 1 - p
    root = z * math.sqrt(z * z + 4 * n * p * q)
    return (2 * n * p + z * z - root) / (2 * (n + z * z)), (2 * n * p + z * z + root) / (2 * (n + z * z))


def _newcombe_reference(k1: int, n1: int, k2: int, n2: int, conf: float) -> tuple[float, float]:
    """Newcombe (1998) method 10 as statsmodels' confint_proportions_2indep(method="newcomb")
    computes it: delta -/+ sqrt of the squared Wilson distances (z from the stdlib, not scipy)."""
    z = NormalDist().inv_cdf(1 - (1 - conf) / 2)
    l1, u1 = _wilson_newcombe_1998(k1, n1, z)
    l2, u2 = _wilson_newcombe_1998(k2, n2, z)
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


@pytest.mark.parametrize("counts", [(10, 56, 0, 30), (5, 56, 0, 29), (56, 70, 48, 80), (0, 10, 0, 20),
                                    (10, 10, 0, 10), (17, 44, 4, 40), (1, 3, 2, 2)])
@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_newcombe_matches_closed_form_to_1e9(counts, conf):
    r = newcombe_difference(*counts, conf=conf)
    lo, hi = _newcombe_reference(*counts, conf)
    assert r.ci_low == pytest.approx(lo, abs=1e-9)
    assert r.ci_high == pytest.approx(hi, abs=1e-9)


def test_model_trial_month_12_normal_ct():
    # R 4.2: fisher.test(matrix(c(10, 0, 46, 30), 2))$p.value = 0.01284 (printed 4 digits)
    assert round(fisher_exact(10, 56, 0, 30).p_value, 5) == 0.01284
    r = newcombe_difference(10, 56, 0, 30)
    assert r.diff == pytest.approx(10 / 56)
    assert (round(r.ci_low, 4), round(r.ci_high, 4)) == (0.0405, 0.2984)


def test_wilson_matches_closed_form():
    z = NormalDist().inv_cdf(0.975)
    for n in (1, 2, 7, 30, 56):
        for k in range(n + 1):
            assert wilson_interval(k, n) == pytest.approx(_wilson_newcombe_1998(k, n, z), abs=1e-12)


def _dnoncentral(x: int, m: int, n: int, k: int, psi: float) -> float:
    """log-free noncentral hypergeometric probability of x (R's dnhyper)."""
    lo, hi = max(0, k - n), min(k, m)
    w = [math.comb(m, i) * math.comb(n, k - i) * psi ** i for i in range(lo, hi + 1)]
    return w[x - lo] / sum(w)


def test_conditional_odds_ratio_is_the_conditional_mle():
    # R's fisher.test estimate: the psi whose conditional mean of x equals the observed x
    k1, n1, k2, n2 = 17, 44, 4, 40
    m, n, k = k1 + k2, (n1 - k1) + (n2 - k2), n1
    r = fisher_odds_ratio(k1, n1, k2, n2)
    lo, hi = max(0, k - n), min(k, m)
    mean = sum(x * _dnoncentral(x, m, n, k, r.estimate) for x in range(lo, hi + 1))
    assert mean == pytest.approx(k1, rel=1e-6)
    # exact CI bounds: P(X >= x | psi_low) = 0.025 and P(X <= x | psi_high) = 0.025
    upper_tail = sum(_dnoncentral(x, m, n, k, r.ci_low) for x in range(k1, hi + 1))
    lower_tail = sum(_dnoncentral(x, m, n, k, r.ci_high) for x in range(lo, k1 + 1))
    assert upper_tail == pytest.approx(0.025, rel=1e-5)
    assert lower_tail == pytest.approx(0.025, rel=1e-5)
    assert r.ci_low < r.estimate < r.ci_high and r.conf_level == 0.95


def test_conditional_odds_ratio_with_a_zero_cell():
    r = fisher_odds_ratio(10, 56, 0, 30)
    assert r.estimate == math.inf and r.ci_high == math.inf
    # lower bound: P(X >= 10 | psi) = 0.025 at psi = ci_low
    assert sum(_dnoncentral(x, 10, 76, 56, r.ci_low) for x in range(10, 11)) == pytest.approx(0.025, rel=1e-5)


def test_sample_odds_ratio_and_input_errors():
    assert fisher_exact(3, 9, 7, 8).odds_ratio == pytest.approx(3 * 1 / (6 * 7))
    assert fisher_exact(10, 56, 0, 30).odds_ratio == math.inf
    assert math.isnan(fisher_exact(0, 5, 0, 6).odds_ratio)
    assert fisher_exact(0, 5, 0, 6).p_value == 1.0
    with pytest.raises(ValueError, match="conf"):
        fisher_odds_ratio(1, 4, 1, 3, conf=1.0)
    with pytest.raises(ValueError, match="outside"):
        fisher_odds_ratio(5, 4, 1, 3)


@pytest.mark.parametrize("counts", [(10, 56, 0, 30), (5, 10, 3, 12), (0, 7, 0, 9), (20, 20, 1, 25), (56, 56, 30, 30)])
@pytest.mark.parametrize("conf", [0.9, 0.95])
def test_newcombe_matches_statsmodels_to_1e9(counts, conf):
    """statsmodels' confint_proportions_2indep(method="newcomb") is the reference the issue names."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    k1, n1, k2, n2 = counts
    lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=1 - conf)
    res = newcombe_difference(k1, n1, k2, n2, conf)
    assert (res.ci_low, res.ci_high) == pytest.approx((lo, hi), abs=1e-9)
