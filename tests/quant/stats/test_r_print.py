"""R's printed form of test results (quant.stats.r_print): R's format() rules and print.htest layout."""

from __future__ import annotations

import pytest

from quant.stats.r_print import HTest, format_htest, format_numbers, format_pval


@pytest.mark.parametrize("values,digits,expected", [
    ([-11.0000717739, 6.99992898977], 7, ["-11.000072", "  6.999929"]),  # format(c(...), digits = 7)
    ([-14.43, 13.2], 7, ["-14.43", " 13.20"]),
    ([5.5, 6.333333333], 7, ["5.500000", "6.333333"]),
    ([1.328400570952885, float("inf")], 7, ["1.328401", "     Inf"]),
    ([120.0], 5, ["120"]),
    ([31.23612], 5, ["31.236"]),
    ([86.66666666666667], 7, ["86.66667"]),
    ([95.0], 7, ["95"]),
    ([1e-10], 7, ["1e-10"]),
    ([0.1785714285714, 0.0], 7, ["0.1785714", "0.0000000"]),
])
def test_format_numbers_as_r(values, digits, expected):
    assert format_numbers(values, digits) == expected


@pytest.mark.parametrize("p,expected", [
    (0.012839252, "0.01284"), (0.484930853672, "0.4849"), (3.02575647097e-05, "3.026e-05"),
    (1e-20, "< 2.2e-16"), (1.0, "1"),
])
def test_format_pval_as_r(p, expected):
    assert format_pval(p) == expected


def test_htest_layout_matches_r_print():
    # the exact reference case of stats_r_reference.json (10 vs 6 values), laid out as print.htest does
    text = format_htest(HTest(
        method="Wilcoxon rank sum exact test", data="x and y", p_value=0.874875124875, statistic=("W", 28.0),
        null=("location shift", 0.0), conf_int=(-14.43, 13.2), conf_level=0.95,
        estimates=(("difference in location", -1.025),),
    ))
    assert text == (
        "\n\tWilcoxon rank sum exact test\n\n"
        "data:  x and y\n"
        "W = 28, p-value = 0.8749\n"
        "alternative hypothesis: true location shift is not equal to 0\n"
        "95 percent confidence interval:\n"
        " -14.43  13.20\n"
        "sample estimates:\n"
        "difference in location \n"
        "                -1.025 \n"
    )


def test_htest_two_estimates_share_a_width():
    text = format_htest(HTest(method="m", data="d", estimates=(("mean of x", 5.5), ("mean of y", 6.333333333))))
    assert "mean of x mean of y \n 5.500000  6.333333 \n" in text
