"""``lungread stats compare`` and ``lungread stats proportions``: the trial's two-sample tests on a
CSV file or on counts, without a database (a statistician's calculator).

Output is R's printed form (``print.htest``) of the same tests, so a statistician can compare it
line by line with an R session:

* ``proportions K1 N1 K2 N2``: ``fisher.test(matrix(c(K1, K2, N1 - K1, N2 - K2), 2))`` (two-sided p,
  conditional MLE odds ratio group 1 : group 2 with its exact CI) and the Newcombe hybrid-score
  interval for p1 - p2 (statsmodels ``confint_proportions_2indep(method="newcomb")``). Proportions
  are fractions (0..1).
* ``compare --csv FILE --value COL --group COL``: ``wilcox.test(x, y, conf.int = TRUE)``
  (Hodges-Lehmann shift, exact when R is exact) and ``t.test(x, y)`` (Welch), x the treatment and
  y the control group: every difference is treatment - control, in the units of the value column.

Errors in the input (counts, columns, groups, values) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse

from quant.errors import LungReadError

__all__ = ["register", "CalculatorError", "run_proportions", "run_compare"]


class CalculatorError(LungReadError):
    """Counts or options the calculator cannot use."""


def _conf(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return v


def _digits(text: str) -> int:
    v = int(text)
    if not 4 <= v <= 15:
        raise argparse.ArgumentTypeError(f"must be 4..15, got {text}")
    return v


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--conf", type=_conf, default=0.95, metavar="LEVEL",
                   help="two-sided confidence level (default 0.95)")
    p.add_argument("--digits", type=_digits, default=7, metavar="N",
                   help="significant digits as R's options(digits = N) (default 7, R's default)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the calculator commands to ``lungread stats``'s sub-command group."""
    p = subparsers.add_parser(
        "proportions",
        help="Fisher's exact test and the Newcombe interval for K1/N1 vs K2/N2 (no database)",
        description="Fisher's exact test (R fisher.test: two-sided p, conditional odds ratio group 1 : group 2 "
        "with exact CI) and the Newcombe hybrid-score CI for p1 - p2, printed as R prints them.",
    )
    p.add_argument("k1", type=int, metavar="K1", help="events in group 1")
    p.add_argument("n1", type=int, metavar="N1", help="subjects in group 1")
    p.add_argument("k2", type=int, metavar="K2", help="events in group 2")
    p.add_argument("n2", type=int, metavar="N2", help="subjects in group 2")
    p.add_argument("--names", nargs=2, metavar=("A", "B"), default=("group1", "group2"),
                   help="names of groups 1 and 2 for the output (default: group1 group2)")
    _common(p)
    p.set_defaults(handler=run_proportions, fast_exit=False)

    p = subparsers.add_parser(
        "compare",
        help="Hodges-Lehmann/Wilcoxon and Welch t, treatment - control, on a CSV column (no database)",
        description="Hodges-Lehmann shift with the Wilcoxon rank-sum test (R wilcox.test, exact when R is exact) "
        "and the Welch t-test (R t.test) of --value between two groups of --group, printed as R prints them. "
        "Direction: treatment - control. Empty cells (and NA) are skipped and counted.",
    )
    p.add_argument("--csv", required=True, metavar="FILE", help="comma-separated file with a header row")
    p.add_argument("--value", required=True, metavar="COL", help="numeric column to compare")
    p.add_argument("--group", required=True, metavar="COL", help="column naming each row's group (arm)")
    p.add_argument("--treatment", metavar="A", help="group value of the treatment arm (first sample)")
    p.add_argument("--control", metavar="B",
                   help="group value of the control arm (second sample); without both, the column must hold "
                   "exactly two groups (the one not named, or sorted order: first - second)")
    _common(p)
    p.set_defaults(handler=run_compare, fast_exit=False)


def run_proportions(args: argparse.Namespace) -> int:
    from quant.stats.proportions import fisher_exact, fisher_odds_ratio, newcombe_difference
    from quant.stats.r_print import HTest, format_htest, format_numbers

    a, b = args.names
    if a == b:
        raise CalculatorError(f"--names: the two groups need different names (both {a!r})")
    counts = (args.k1, args.n1, args.k2, args.n2)
    try:
        fisher = fisher_exact(*counts)
        odds = fisher_odds_ratio(*counts, conf=args.conf)
        nw = newcombe_difference(*counts, conf=args.conf)
    except ValueError as exc:
        raise CalculatorError(f"counts K1 N1 K2 N2 = {' '.join(map(str, counts))}: {exc}") from None
    d = args.digits
    data = f"{a} {args.k1}/{args.n1} vs {b} {args.k2}/{args.n2}"
    p1, p2 = format_numbers([nw.p1, nw.p2], d)
    print(f"{a}: {args.k1}/{args.n1} = {p1.strip()}, {b}: {args.k2}/{args.n2} = {p2.strip()}; "
          f"difference {a} - {b}, odds ratio {a} : {b}")
    print(format_htest(HTest(
        method="Fisher's Exact Test for Count Data", data=data, p_value=fisher.p_value, null=("odds ratio", 1.0),
        conf_int=(odds.ci_low, odds.ci_high), conf_level=odds.conf_level, estimates=(("odds ratio", odds.estimate),),
    ), d))
    print(format_htest(HTest(
        method="Newcombe hybrid score interval for a difference of proportions (Wilson, no continuity correction)",
        data=data, conf_int=(nw.ci_low, nw.ci_high), conf_level=args.conf,
        estimates=((a, nw.p1), (b, nw.p2), (f"{a} - {b}", nw.diff)),
    ), d), end="")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from quant.stats.r_print import HTest, format_htest, format_numbers
    from quant.stats.two_groups_csv import read_two_groups
    from quant.stats.two_sample import hodges_lehmann, welch_t_test

    g = read_two_groups(args.csv, args.value, args.group, treatment=args.treatment, control=args.control)
    t, c = g.treatment, g.control
    d = args.digits
    how = "treatment - control" if g.explicit else f"first - second of the two {args.group} values in code-point order; name --treatment/--control to be sure"
    print(f"{args.value} by {args.group} in {g.path}: difference {t} - {c} ({how})")
    skipped = ", ".join(f"{k}: {g.skipped_value[k]}" for k in (t, c))
    extra = f"; {g.skipped_group} row(s) with an empty {args.group} skipped" if g.skipped_group else ""
    print(f"n: {t} {len(g.x)}, {c} {len(g.y)}; empty {args.value} cells skipped ({skipped}){extra}")
    data = f"{args.value} by {args.group} ({t} - {c})"
    try:
        hl = hodges_lehmann(g.x, g.y, conf=args.conf)
    except ValueError as exc:
        print(f"\n\tWilcoxon rank sum test\n\nnot estimable: {exc}\n")
    else:
        notes = []
        if not hl.exact:
            why = "ties" if len(set(g.x + g.y)) < len(g.x) + len(g.y) else "a group of 50 or more"
            notes.append(f"note: normal approximation ({why}), as R (which warns about ties)")
        if hl.conf_level != args.conf:
            notes.append(f"note: the requested confidence level {format_numbers([args.conf])[0]} is not achievable "
                         "with these group sizes; the interval's level is shown (R warns likewise)")
        print(format_htest(HTest(
            method=hl.method, data=data, p_value=hl.p_value, statistic=("W", hl.statistic),
            null=("location shift", 0.0), conf_int=(hl.ci_low, hl.ci_high), conf_level=hl.conf_level,
            estimates=((f"difference in location ({t} - {c})", hl.estimate),), notes=tuple(notes),
        ), d))
    try:
        w = welch_t_test(g.x, g.y, conf=args.conf)
    except ValueError as exc:
        print(f"\n\tWelch Two Sample t-test\n\nnot estimable: {exc}\n", end="")
    else:
        print(format_htest(HTest(
            method="Welch Two Sample t-test", data=data, p_value=w.p_value, statistic=("t", w.statistic),
            parameter=("df", w.df), null=(f"difference in means between group {t} and group {c}", 0.0),
            conf_int=(w.ci_low, w.ci_high), conf_level=w.conf_level,
            estimates=((f"mean in group {t}", w.mean_x), (f"mean in group {c}", w.mean_y)),
            notes=(f"difference in means ({t} - {c}): {format_numbers([w.diff], d)[0]}",),
        ), d), end="")
    return 0
