"""``lungread stats proportions`` and ``lungread stats compare``: R's numbers, direction stated,
user errors one line with exit status 2."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from statistics import NormalDist

import pytest

from desktop.cli.main import EXIT_USER_ERROR, main
from tests.support.paths import REPO_ROOT, TEST_DATA


def _newcombe_reference(k1, n1, k2, n2, conf=0.95):
    """Newcombe (1998) method 10 from his closed-form Wilson limits, independent of the code."""
    z = NormalDist().inv_cdf(1 - (1 - conf) / 2)

    def wilson(k, n):
        p = k / n
        root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
        return (2 * n * p + z * z - root) / (2 * (n + z * z)), (2 * n * p + z * z + root) / (2 * (n + z * z))

    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    p1, p2 = k1 / n1, k2 / n2
    return p1 - p2 - math.hypot(p1 - l1, u2 - p2), p1 - p2 + math.hypot(u1 - p1, p2 - l2)


def _interval_after(text: str, heading: str) -> tuple[float, float]:
    block = text[text.index(heading):]
    line = block.split("percent confidence interval:\n", 1)[1].splitlines()[0]
    lo, hi = line.split()
    return float(lo), float(hi)


def test_proportions_month_12_normal_ct(capsys):
    assert main(["stats", "proportions", "10", "56", "0", "30", "--names", "MSC", "placebo"]) == 0
    out = capsys.readouterr().out
    assert "\tFisher's Exact Test for Count Data\n" in out
    assert "p-value = 0.01284\n" in out  # R: fisher.test(matrix(c(10, 0, 46, 30), 2))
    assert "alternative hypothesis: true odds ratio is not equal to 1" in out
    assert "difference MSC - placebo" in out
    lo, hi = _interval_after(out, "Newcombe")
    ref = _newcombe_reference(10, 56, 0, 30)
    assert (lo, hi) == pytest.approx(ref, abs=5e-8)  # 7 significant digits printed


def test_proportions_digits_show_the_interval_to_1e9(capsys):
    assert main(["stats", "proportions", "10", "56", "0", "30", "--digits", "12", "--conf", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "90 percent confidence interval" in out
    lo, hi = _interval_after(out, "Newcombe")
    assert (lo, hi) == pytest.approx(_newcombe_reference(10, 56, 0, 30, 0.9), abs=1e-9)


@pytest.mark.parametrize("argv,match", [
    (["57", "56", "0", "30"], "k1 = 57 is outside 0..n1 = 56"),
    (["1", "0", "0", "30"], "at least one subject"),
    (["1", "5", "0", "30", "--names", "A", "A"], "different names"),
])
def test_proportions_user_errors(argv, match, capsys):
    assert main(["stats", "proportions", *argv]) == EXIT_USER_ERROR
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and "Traceback" not in err


def _reference_csv(tmp_path, case):
    rows = ["USUBJID,ARM,CHG"]
    rows += [f"T{i},UC-MSC,{v}" for i, v in enumerate(case["x"])]
    rows += [f"C{i},placebo,{v}" for i, v in enumerate(case["y"])]
    rows += ["T99,UC-MSC,", "C99,placebo,NA", "C98,placebo,", "X1,,1.0"]
    path = tmp_path / "adqct.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _reference_cases():
    return json.loads((TEST_DATA / "stats_r_reference.json").read_text())


@pytest.mark.parametrize("index", range(len(_reference_cases())))
def test_compare_reproduces_r_reference(index, tmp_path, capsys):
    case = _reference_cases()[index]
    path = _reference_csv(tmp_path, case)
    argv = ["stats", "compare", "--csv", str(path), "--value", "CHG", "--group", "ARM",
            "--treatment", "UC-MSC", "--control", "placebo", "--digits", "12"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "difference UC-MSC - placebo (treatment - control)" in out
    assert f"n: UC-MSC {len(case['x'])}, placebo {len(case['y'])}" in out
    assert "empty CHG cells skipped (UC-MSC: 1, placebo: 2); 1 row(s) with an empty ARM skipped" in out
    assert f"\t{case['wilcoxon_method']}\n" in out
    p = float(re.search(r"W = \S+, p-value = (\S+)", out).group(1))
    assert p == pytest.approx(case["wilcoxon_p"], rel=1e-8)
    hl_lo, hl_hi = _interval_after(out, "Wilcoxon")
    tol = 1e-9 if "exact" in case["wilcoxon_method"] else 1e-3  # R's uniroot tolerance
    assert (hl_lo, hl_hi) == pytest.approx(case["hl_ci"], abs=tol)
    assert "difference in location (UC-MSC - placebo)" in out
    w_lo, w_hi = _interval_after(out, "Welch")
    assert (w_lo, w_hi) == pytest.approx(case["welch_ci"], abs=1e-9)
    assert float(re.search(r"df = \S+, p-value = (\S+)", out).group(1)) == pytest.approx(case["welch_p"], rel=1e-8)
    assert "true difference in means between group UC-MSC and group placebo" in out


def test_compare_reversed_arms_flip_the_sign(tmp_path, capsys):
    path = _reference_csv(tmp_path, _reference_cases()[1])
    base = ["stats", "compare", "--csv", str(path), "--value", "CHG", "--group", "ARM"]
    assert main(base + ["--treatment", "placebo"]) == 0
    out = capsys.readouterr().out
    assert "difference placebo - UC-MSC (treatment - control)" in out
    assert _interval_after(out, "Welch") == pytest.approx((-16.32857, 16.65057), abs=1e-5)


def test_compare_tiny_arms_report_the_achieved_level(tmp_path, capsys):
    path = tmp_path / "tiny.csv"
    path.write_text("arm,v\nA,1\nA,2\nB,3\nB,4\nB,5\nB,6\n")
    assert main(["stats", "compare", "--csv", str(path), "--value", "v", "--group", "arm"]) == 0
    out = capsys.readouterr().out
    assert "86.66667 percent confidence interval:\n -5 -1\n" in out  # R: conf.level 0.8666667
    assert "not achievable" in out
    assert "first - second" in out  # no arms named: the order is said


def test_compare_not_estimable_welch_does_not_hide_the_rest(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("arm,v\nA,1\nB,3\nB,4\n")
    assert main(["stats", "compare", "--csv", str(path), "--value", "v", "--group", "arm"]) == 0
    out = capsys.readouterr().out
    assert "Wilcoxon rank sum exact test" in out
    assert "not estimable: x has 1 value(s); at least 2 are needed" in out


@pytest.mark.parametrize("rows,extra,match", [
    ("arm,v\nA,1\nB,2\n", ["--value", "w", "--group", "arm"], "no column 'w' (--value); columns: arm, v"),
    ("arm,v\nA,1\nB,2\n", ["--value", "v", "--group", "arm", "--treatment", "C"],
     "--treatment 'C' is not a value of column 'arm' (values: 'A', 'B')"),
    ("arm,v\nA,1\nB,2\nC,3\n", ["--value", "v", "--group", "arm"], "has 3 groups ('A', 'B', 'C'): name the two"),
    ("arm,v\nA,1\nB,2\nB,two\n", ["--value", "v", "--group", "arm"], "line 4: v = 'two' is not a number"),
])
def test_compare_user_errors_are_one_line_exit_2(rows, extra, match, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text(rows)
    assert main(["stats", "compare", "--csv", str(path), *extra]) == EXIT_USER_ERROR
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("lungread: error: ") and match in err and "\n" not in err
    assert captured.out == ""


def test_stats_without_out_or_calculator_still_asks_for_out(capsys):
    assert main(["stats"]) == EXIT_USER_ERROR
    assert "--out" in capsys.readouterr().err


def test_console_command_prints_r_p_value():
    proc = subprocess.run([sys.executable, "-m", "desktop.cli.main", "stats", "proportions", "10", "56", "0", "30"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "p-value = 0.01284" in proc.stdout
