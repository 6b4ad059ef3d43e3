"""Two-sample endpoint statistics against R reference values and independent computations."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from quant.stats.two_sample import (
    METHOD_EXACT,
    METHOD_NORMAL,
    fisher_exact,
    hodges_lehmann,
    newcombe_difference,
    welch_difference,
)
from quant.stats.wilcoxon import pwilcox, pwilcox_upper, qwilcox, wilcox_counts
from tests.support.paths import REPO_ROOT, TEST_DATA

_REF_PATHS = [
    TEST_DATA / "stats_r_reference.json",
    REPO_ROOT.parent / "shared" / "reference" / "stats_r_reference.json",  # fallback: ../shared
]


def _load_reference() -> list[dict]:
    for p in _REF_PATHS:
        if p.is_file():
            return json.loads(p.read_text())
    pytest.fail(f"R reference cases not found in {[str(p) for p in _REF_PATHS]}")


REF = _load_reference()
EXACT_CASES = [c for c in REF if c["wilcoxon_method"] == METHOD_EXACT]
NORMAL_CASES = [c for c in REF if c["wilcoxon_method"] == METHOD_NORMAL]


def test_reference_has_both_methods():
    assert len(EXACT_CASES) >= 3 and len(NORMAL_CASES) >= 2


@pytest.mark.parametrize("case", EXACT_CASES, ids=lambda c: f"exact-{len(c['x'])}x{len(c['y'])}")
def test_hodges_lehmann_exact_matches_r(case):
    r = hodges_lehmann(case["x"], case["y"])
    assert r.method == METHOD_EXACT
    assert r.estimate == pytest.approx(case["hl_estimate"], abs=1e-9)
    assert r.ci_low == pytest.approx(case["hl_ci"][0], abs=1e-9)
    assert r.ci_high == pytest.approx(case["hl_ci"][1], abs=1e-9)
    assert r.p_value == pytest.approx(case["wilcoxon_p"], rel=1e-9)


@pytest.mark.parametrize("case", NORMAL_CASES, ids=lambda c: f"normal-{len(c['x'])}x{len(c['y'])}")
def test_hodges_lehmann_asymptotic_matches_r(case):
    x, y = np.array(case["x"]), np.array(case["y"])
    r = hodges_lehmann(x, y)
    assert r.method == METHOD_NORMAL
    assert r.p_value == pytest.approx(case["wilcoxon_p"], rel=1e-9)
    assert r.ci_low == pytest.approx(case["hl_ci"][0], abs=1e-3)
    assert r.ci_high == pytest.approx(case["hl_ci"][1], abs=1e-3)
    # R's estimate is a root of a step function that is zero between the two middle differences;
    # ours is the median. Both must lie in that closed interval (R's to within uniroot's 1e-4).
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    n = diffs.size
    lo_mid, hi_mid = diffs[(n - 1) // 2], diffs[n // 2]
    assert lo_mid - 1e-4 <= case["hl_estimate"] <= hi_mid + 1e-4
    assert lo_mid <= r.estimate <= hi_mid


@pytest.mark.parametrize("case", REF, ids=lambda c: f"{len(c['x'])}x{len(c['y'])}")
def test_welch_matches_r(case):
    w = welch_difference(case["x"], case["y"])
    assert w.diff == pytest.approx(case["welch_diff"], abs=1e-9)
    assert w.ci_low == pytest.approx(case["welch_ci"][0], abs=1e-9)
    assert w.ci_high == pytest.approx(case["welch_ci"][1], abs=1e-9)
    assert w.p_value == pytest.approx(case["welch_p"], rel=1e-9)
    diff, lo, hi, p, df = w  # plain tuple unpacking works too
    assert lo < diff < hi and 0 < p <= 1 and df > 1


@pytest.mark.parametrize("case", REF, ids=lambda c: "{k1}/{n1}-{k2}/{n2}".format(**c["fisher"]))
def test_fisher_matches_r(case):
    f = case["fisher"]
    r = fisher_exact(f["k1"], f["n1"], f["k2"], f["n2"])
    assert r.p_value == pytest.approx(f["p"], rel=1e-9)


def test_fisher_model_trial_normal_ct():
    # 10/56 MSC vs 0/30 placebo with a normal CT at month 12 (design doc): p = 0.01284
    assert round(fisher_exact(10, 56, 0, 30).p_value, 5) == 0.01284
    # the test is symmetric in the groups
    assert fisher_exact(0, 30, 10, 56).p_value == pytest.approx(fisher_exact(10, 56, 0, 30).p_value, rel=1e-12)


def test_fisher_against_enumeration():
    """Independent check: sum the hypergeometric probabilities of all tables with math.comb."""
    k1, n1, k2, n2 = 3, 9, 7, 8
    m, total = k1 + k2, n1 + n2

    def prob(a):
        return math.comb(n1, a) * math.comb(n2, m - a) / math.comb(total, m)

    support = range(max(0, m - n2), min(m, n1) + 1)
    p_obs = prob(k1)
    expected = sum(prob(a) for a in support if prob(a) <= p_obs * (1 + 1e-7))
    assert fisher_exact(k1, n1, k2, n2).p_value == pytest.approx(expected, rel=1e-12)


# Newcombe RG, Stat Med 1998;17:873-890, Table II, method 10 (hybrid score, no CC)
NEWCOMBE_1998 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize("counts,ci", NEWCOMBE_1998)
def test_newcombe_published_examples(counts, ci):
    r = newcombe_difference(*counts)
    assert round(r.ci_low, 4) == pytest.approx(ci[0], abs=1e-12)
    assert round(r.ci_high, 4) == pytest.approx(ci[1], abs=1e-12)
    assert r.diff == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])


def test_wilcoxon_counts_small_and_total():
    assert wilcox_counts(2, 2) == (1, 1, 2, 1, 1)
    assert sum(wilcox_counts(49, 49)) == math.comb(98, 49)
    assert wilcox_counts(3, 5) == wilcox_counts(5, 3)


def test_pwilcox_against_enumeration():
    """Independent check of the exact distribution: enumerate every rank assignment."""
    m, n = 4, 5
    ws = []
    for xs in itertools.combinations(range(1, m + n + 1), m):
        ws.append(sum(xs) - m * (m + 1) // 2)
    ws = np.array(ws)
    for q in range(m * n + 1):
        assert pwilcox(q, m, n) == pytest.approx(np.mean(ws <= q), rel=1e-12)
        assert pwilcox_upper(q, m, n) == pytest.approx(np.mean(ws > q), abs=1e-15)
    for p in (0.01, 0.025, 0.3, 0.5, 0.8, 0.975):
        q = qwilcox(p, m, n)
        assert np.mean(ws <= q) >= p - 1e-12
        assert q == 0 or np.mean(ws <= q - 1) < p


def test_exact_p_against_enumeration():
    x = [1.3, 4.1, 2.2, 7.5, 3.3]
    y = [0.2, 0.9, 1.1, 2.0, 5.5, 0.4]
    pooled = np.array(x + y)
    w_obs = sum(sorted(pooled).index(v) + 1 for v in x) - 15
    ws = np.array([sum(c) - 15 for c in itertools.combinations(range(1, 12), 5)])
    mu = 5 * 6 / 2
    expected = min(1.0, 2 * min(np.mean(ws <= w_obs), np.mean(ws >= w_obs)))
    r = hodges_lehmann(x, y)
    assert r.statistic == w_obs and abs(w_obs - mu) > 0
    assert r.p_value == pytest.approx(expected, rel=1e-12)


def test_ties_force_normal_approximation_and_shift_equivariance():
    x = [1.0, 2.0, 2.0, 3.0, 5.0]
    y = [0.0, 1.0, 1.5, 2.5]
    r = hodges_lehmann(x, y)
    assert r.method == METHOD_NORMAL
    shifted = hodges_lehmann(np.array(x) + 10.0, y)
    assert shifted.estimate == pytest.approx(r.estimate + 10.0)
    assert shifted.ci_low == pytest.approx(r.ci_low + 10.0, abs=1e-6)
    assert shifted.ci_high == pytest.approx(r.ci_high + 10.0, abs=1e-6)
    assert shifted.p_value < r.p_value


def test_large_groups_use_normal_approximation():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0, 1, 60), rng.normal(1, 1, 30)
    r = hodges_lehmann(x, y)
    assert r.method == METHOD_NORMAL
    assert r.ci_low < r.estimate < r.ci_high < 0


@pytest.mark.parametrize(
    "x,y,match",
    [
        ([1.0, float("nan")], [1.0, 2.0], "NaN"),
        ([], [1.0, 2.0], "empty"),
        ([1.0, 2.0], [], "empty"),
        ([1.0, float("inf")], [1.0], "infinite"),
        ([[1.0, 2.0]], [1.0], "one-dimensional"),
        (["a", "b"], [1.0], "numeric"),
    ],
)
def test_hodges_lehmann_and_welch_reject_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        hodges_lehmann(x, y)
    with pytest.raises(ValueError, match=match):
        welch_difference(x, y)


def test_other_input_errors():
    with pytest.raises(ValueError, match="conf"):
        hodges_lehmann([1, 2], [3, 4], conf=1.5)
    with pytest.raises(ValueError, match="tied"):
        hodges_lehmann([1, 1, 1], [1, 1])
    with pytest.raises(ValueError, match="at least 2"):
        welch_difference([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="constant"):
        welch_difference([2.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="outside"):
        fisher_exact(5, 4, 0, 3)
    with pytest.raises(ValueError, match="at least one"):
        fisher_exact(0, 0, 0, 3)
    with pytest.raises(ValueError, match="NaN"):
        fisher_exact(float("nan"), 4, 0, 3)
    with pytest.raises(ValueError, match="integer"):
        newcombe_difference(1.5, 4, 0, 3)
    with pytest.raises(ValueError, match="outside"):
        newcombe_difference(1, 4, -1, 3)
    with pytest.raises(ValueError, match="conf"):
        newcombe_difference(1, 4, 1, 3, conf=0.0)


@pytest.mark.parametrize("seed", range(6))
def test_ci_root_equals_brentq_on_r_statistic(seed):
    """The exact jump search gives the point brentq (like R's uniroot) converges to."""
    from scipy.optimize import brentq

    from quant.stats.two_sample import _wdiff

    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0, 5, 40 + seed * 7), 1)  # rounding makes ties -> normal approximation
    y = np.round(rng.normal(2, 5, 25 + seed * 3), 1)
    r = hodges_lehmann(x, y)
    assert r.method == METHOD_NORMAL
    mumin, mumax = x.min() - y.max(), x.max() - y.min()
    for zq, bound in ((1.959963984540054, r.ci_low), (-1.959963984540054, r.ci_high)):
        root = brentq(_wdiff, mumin, mumax, args=(x, y, zq), xtol=1e-12)
        assert bound == pytest.approx(root, abs=1e-9)


def test_exact_interval_with_unachievable_level_reports_r_level():
    # n = 2 + 2: qwilcox(0.025, 2, 2) = 0 -> qu = 1, the interval is [min, max] of the differences
    # and R's two-sample wilcox.test reports conf.level 1 - achieved.alpha = 1 - 2 * pwilcox(0, 2, 2)
    # = 1 - 2/6, unrounded (only R's one-sample test rounds: 1 - signif(achieved.alpha, 2))
    r = hodges_lehmann([1.0, 2.0], [3.0, 4.5])
    assert r.method == METHOD_EXACT
    assert (r.ci_low, r.ci_high) == (-3.5, -1.0)
    assert r.conf_level == pytest.approx(1.0 - 2.0 / 6.0, abs=1e-15)
    assert r.estimate == pytest.approx(np.median([-2.0, -3.5, -1.0, -2.5]))
    assert r.p_value == pytest.approx(2 * 1 / 6)


def test_exact_level_for_2_vs_4_is_not_rounded():
    # R 4.2: wilcox.test(c(1, 2), c(3, 4, 5, 6), conf.int = TRUE) -> conf.level 0.8666667
    # (qu = 1, achieved.alpha = 2 * pwilcox(0, 2, 4) = 2/15; a warning, no rounding to 0.87)
    r = hodges_lehmann([1.0, 2.0], [3.0, 4.0, 5.0, 6.0])
    assert r.method == METHOD_EXACT
    assert r.conf_level == pytest.approx(0.8667, abs=1e-4)
    assert r.conf_level == pytest.approx(13 / 15, abs=1e-15)
    assert (r.ci_low, r.ci_high) == (-5.0, -1.0)  # min and max of the 8 differences
    # a reachable level is reported as requested
    assert hodges_lehmann([1.0, 2.0, 3.5, 7.0, 8.0], [3.0, 4.0, 5.0, 6.0, 9.5, 11.0]).conf_level == 0.95


def _welch_by_hand(x, y, conf):
    """Welch-Satterthwaite from the textbook formulas (independent of scipy's ttest_ind)."""
    from scipy import special

    x, y = np.asarray(x, float), np.asarray(y, float)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    d = x.mean() - y.mean()
    q = special.stdtrit(df, 1 - (1 - conf) / 2)
    return d / se, df, 2 * special.stdtr(df, -abs(d / se)), d - q * se, d + q * se


@pytest.mark.parametrize("conf", [0.9, 0.95, 0.99])
def test_welch_t_test_full_result(conf):
    from quant.stats.two_sample import welch_t_test

    x = [8.1, 3.3, 12.0, 5.5, 7.25]
    y = [1.0, 2.5, 0.5, 4.0, 3.0, 2.0, 9.0]
    t, df, p, lo, hi = _welch_by_hand(x, y, conf)
    r = welch_t_test(x, y, conf)
    assert (r.statistic, r.df, r.p_value, r.ci_low, r.ci_high) == pytest.approx((t, df, p, lo, hi), rel=1e-12)
    assert (r.mean_x, r.mean_y, r.n_x, r.n_y, r.conf_level) == pytest.approx((np.mean(x), np.mean(y), 5, 7, conf))
    assert r.diff == pytest.approx(np.mean(x) - np.mean(y), rel=1e-15)
    assert tuple(welch_difference(x, y, conf)) == (r.diff, r.ci_low, r.ci_high, r.p_value, r.df)
