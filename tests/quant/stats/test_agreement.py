"""Reader agreement statistics against textbook values and hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from quant.stats.agreement import BLAND_ALTMAN_Z, bland_altman, cohen_kappa, icc_2_1, icc_a1

# Shrout & Fleiss (Psychol Bull 1979;86:420-428), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], dtype=float
)


def test_icc_shrout_fleiss_published_values():
    r = icc_a1(SHROUT_FLEISS)
    # published ANOVA: BMS 11.24, JMS 32.49, EMS 1.02; ICC(2,1) = 0.29
    assert round(r.ms_rows, 2) == 11.24
    assert round(r.ms_cols, 2) == 32.49
    assert round(r.ms_error, 2) == 1.02
    assert round(r.icc, 2) == 0.29
    # 95% CI as printed by R psych::ICC / irr::icc for these data: 0.019 to 0.76
    assert round(r.ci_low, 3) == 0.019
    assert round(r.ci_high, 2) == 0.76
    assert round(r.f_value, 1) == 11.0


def _anova_by_hand(r1, r2):
    """Two-way ANOVA without replication, written out with explicit sums (independent of icc_a1)."""
    data = np.column_stack([r1, r2])
    n, k = data.shape
    grand = sum(sum(row) for row in data) / (n * k)
    row_means = [sum(row) / k for row in data]
    col_means = [sum(data[i, j] for i in range(n)) / n for j in range(k)]
    ssr = k * sum((m - grand) ** 2 for m in row_means)
    ssc = n * sum((m - grand) ** 2 for m in col_means)
    sse = sum(
        (data[i, j] - row_means[i] - col_means[j] + grand) ** 2 for i in range(n) for j in range(k)
    )
    return ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1)), n, k


def test_icc_2_1_two_readers_matches_hand_anova():
    rng = np.random.default_rng(11)
    truth = rng.uniform(0, 40, 30)
    r1 = truth + rng.normal(0, 2, 30)
    r2 = truth + 1.5 + rng.normal(0, 2, 30)  # reader 2 has a systematic bias
    msr, msc, mse, n, k = _anova_by_hand(r1, r2)
    expected = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    r = icc_2_1(r1, r2)
    assert r.icc == pytest.approx(expected, rel=1e-12)
    assert (r.ms_rows, r.ms_cols, r.ms_error) == pytest.approx((msr, msc, mse), rel=1e-10)
    assert r.ci_low < r.icc < r.ci_high <= 1.0
    assert r.icc > 0.9
    # absolute agreement penalises the bias: consistency ICC(C,1) is larger
    consistency = (msr - mse) / (msr + (k - 1) * mse)
    assert consistency > r.icc


def test_icc_perfect_agreement():
    r = icc_2_1([1.0, 2.0, 5.0], [1.0, 2.0, 5.0])
    assert r.icc == 1.0 and r.ci_high == 1.0


def test_bland_altman_by_hand():
    r1 = [10.0, 12.5, 20.0, 7.0, 15.0]
    r2 = [9.0, 13.0, 18.0, 7.5, 14.0]
    d = [1.0, -0.5, 2.0, -0.5, 1.0]
    mean = sum(d) / 5
    sd = (sum((v - mean) ** 2 for v in d) / 4) ** 0.5
    ba = bland_altman(r1, r2)
    assert ba.bias == pytest.approx(0.6)
    assert ba.sd == pytest.approx(sd)
    assert ba.loa_low == pytest.approx(0.6 - 1.96 * sd)
    assert ba.loa_high == pytest.approx(0.6 + 1.96 * sd)
    assert BLAND_ALTMAN_Z == 1.96 and ba.n == 5


def _kappa_of(p):
    row, col = p.sum(1), p.sum(0)
    pe = row @ col
    return (np.trace(p) - pe) / (1 - pe)


def test_kappa_textbook_and_delta_method_se():
    # Worked example (Wikipedia "Cohen's kappa"): 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> 0.4
    a = [True] * 25 + [False] * 25
    b = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    r = cohen_kappa(a, b)
    assert r.kappa == pytest.approx(0.4, abs=1e-12)
    assert r.observed_agreement == pytest.approx(0.7)
    assert r.expected_agreement == pytest.approx(0.5)
    # The Fleiss-Cohen-Everitt SE is the delta-method SE under multinomial sampling: check it
    # numerically from the gradient of kappa(p) and the multinomial covariance (diag p - p p') / n.
    table = np.array([[15.0, 10.0], [5.0, 20.0]])  # categories sorted (False, True)
    n = table.sum()
    p = (table / n).ravel()
    grad = np.zeros(4)
    h = 1e-7
    for i in range(4):
        up, dn = p.copy(), p.copy()
        up[i] += h
        dn[i] -= h
        grad[i] = (_kappa_of(up.reshape(2, 2)) - _kappa_of(dn.reshape(2, 2))) / (2 * h)
    cov = (np.diag(p) - np.outer(p, p)) / n
    se = float(np.sqrt(grad @ cov @ grad))
    assert r.se == pytest.approx(se, rel=1e-6)
    assert r.ci_low == pytest.approx(0.4 - 1.959963984540054 * se, rel=1e-6)


def test_kappa_three_categories_delta_method():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 3, 80)
    b = np.where(rng.random(80) < 0.7, a, rng.integers(0, 3, 80))
    r = cohen_kappa(a, b)
    table = np.zeros((3, 3))
    for u, v in zip(a, b):
        table[u, v] += 1
    p = (table / 80).ravel()
    grad = np.zeros(9)
    for i in range(9):
        up, dn = p.copy(), p.copy()
        up[i] += 1e-7
        dn[i] -= 1e-7
        grad[i] = (_kappa_of(up.reshape(3, 3)) - _kappa_of(dn.reshape(3, 3))) / 2e-7
    se = float(np.sqrt(grad @ ((np.diag(p) - np.outer(p, p)) / 80) @ grad))
    assert r.kappa == pytest.approx(_kappa_of(table / 80), rel=1e-12)
    assert r.se == pytest.approx(se, rel=1e-5)
    assert r.categories == (0, 1, 2)


def test_agreement_input_errors():
    with pytest.raises(ValueError, match="same length"):
        icc_2_1([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        icc_2_1([1, 2, np.nan], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        icc_2_1([], [])
    with pytest.raises(ValueError, match="no variance"):
        icc_2_1([2, 2, 2], [2, 2, 2])
    with pytest.raises(ValueError, match="matrix"):
        icc_a1([[1, 2]])
    with pytest.raises(ValueError, match="same length"):
        bland_altman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        bland_altman([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        bland_altman([], [1])
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa([True, False], [True])
    with pytest.raises(ValueError, match="missing"):
        cohen_kappa([True, None], [True, False])
    with pytest.raises(ValueError, match="missing"):
        cohen_kappa([1.0, float("nan")], [1.0, 0.0])
    with pytest.raises(ValueError, match="empty"):
        cohen_kappa([], [])
    with pytest.raises(ValueError, match="undefined"):
        cohen_kappa([False, False], [False, False])


def test_kappa_ci_is_clipped_to_its_range():
    # 9 of 10 agree: kappa 0.615, SE 0.337, so the Wald upper bound would be 1.276
    a = [True] * 8 + [False, False]
    b = [True] * 8 + [False, True]
    r = cohen_kappa(a, b)
    z = 1.959963984540054
    assert r.kappa + z * r.se > 1.2  # the unclipped bound exceeds kappa's range
    assert r.ci_high == 1.0
    assert r.ci_low == pytest.approx(r.kappa - z * r.se, rel=1e-12)  # inside the range: unchanged
    # and symmetric at the bottom: near-complete disagreement
    r = cohen_kappa([True, False, True, False, True], [False, True, False, True, True])
    assert r.kappa - z * r.se < -1.0
    assert r.ci_low == -1.0 and r.ci_high <= 1.0
