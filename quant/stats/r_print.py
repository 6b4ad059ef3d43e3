"""R's printed form of a test result (``print.htest``), so that calculator output can be read
side by side with an R session.

Numbers are formatted as R's ``format(x, digits = d)`` does (``digits`` significant digits, one
common number of decimals per vector, fixed notation unless scientific is narrower, ``Inf``),
p values as ``format.pval`` (``< 2.2e-16`` below machine epsilon). ``digits`` plays the role of
``getOption("digits")`` (R's default 7): statistics print with ``digits - 2``, p values with
``digits - 3``, intervals and estimates with ``digits`` significant digits. Pure text; no units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["HTest", "format_numbers", "format_pval", "format_htest", "R_DIGITS"]

#: R's ``getOption("digits")``.
R_DIGITS = 7

_DBL_EPSILON = 2.220446049250313e-16
_LINE_WIDTH = 80  # R's getOption("width")


def _sig_and_exponent(x: float, digits: int) -> tuple[int, int]:
    """Significant digits (<= digits) R needs to show |x| to ``digits`` digits, and its exponent."""
    if x == 0.0:
        return 1, 0
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    sig = len(mantissa.replace(".", "").rstrip("0")) or 1
    return sig, int(exponent)


def format_numbers(values: Sequence[float], digits: int = R_DIGITS) -> list[str]:
    """R's ``format(values, digits = digits)``: a common format, padded to a common width."""
    finite = [float(v) for v in values if math.isfinite(v)]
    out: list[str] = []
    if finite:
        parts = [_sig_and_exponent(v, digits) for v in finite]
        # fixed: as many decimals as the element that needs most; width of the widest
        decimals = max(max(0, sig - 1 - e) for sig, e in parts)
        fixed = [f"{v:.{decimals}f}" for v in finite]
        # scientific: a common mantissa length
        mant = max(sig for sig, _ in parts) - 1
        sci = [_r_sci(v, mant) for v in finite]
        chosen = iter(fixed if max(map(len, fixed)) <= max(map(len, sci)) else sci)
    for v in values:
        v = float(v)
        if math.isfinite(v):
            out.append(next(chosen))
        elif math.isnan(v):
            out.append("NaN")
        else:
            out.append("Inf" if v > 0 else "-Inf")
    width = max(map(len, out), default=0)
    return [s.rjust(width) for s in out]


def _r_sci(v: float, mant: int) -> str:
    m, e = f"{v:.{mant}e}".split("e")
    exp = int(e)
    return f"{m}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def format_pval(p: float, digits: int = R_DIGITS - 3) -> str:
    """R's ``format.pval(p, digits)``: ``< 2.2e-16`` below machine epsilon (as R, with 2 fewer digits)."""
    if math.isnan(p):
        return "NA"
    if p < _DBL_EPSILON:
        return "< " + format_numbers([_DBL_EPSILON], max(1, digits - 2))[0]
    return format_numbers([p], digits)[0]


@dataclass(frozen=True)
class HTest:
    """The parts of an R ``htest`` object that ``print.htest`` shows.

    ``statistic`` and ``parameter`` are (name, value) pairs (e.g. ("W", 120.0), ("df", 31.2));
    ``null`` is (name, value) of the null hypothesis (e.g. ("location shift", 0.0)); ``estimates``
    (name, value) pairs. ``notes`` are extra lines printed after the result (not part of R's print).
    """

    method: str
    data: str
    p_value: float | None = None
    statistic: tuple[str, float] | None = None
    parameter: tuple[str, float] | None = None
    null: tuple[str, float] | None = None
    conf_int: tuple[float, float] | None = None
    conf_level: float | None = None
    estimates: tuple[tuple[str, float], ...] = ()
    notes: tuple[str, ...] = field(default=())


def _print_named(pairs: Sequence[tuple[str, float]], digits: int) -> list[str]:
    """R's print of a named numeric vector: names above values, one common column width."""
    names = [n for n, _ in pairs]
    values = [v.strip() for v in format_numbers([v for _, v in pairs], digits)]
    width = max(len(s) for s in names + values)
    per_line = max(1, _LINE_WIDTH // (width + 1))
    lines = []
    for i in range(0, len(pairs), per_line):
        lines.append("".join(n.rjust(width) + " " for n in names[i:i + per_line]))
        lines.append("".join(v.rjust(width) + " " for v in values[i:i + per_line]))
    return lines


def format_htest(t: HTest, digits: int = R_DIGITS) -> str:
    """The text R's ``print(htest)`` writes (leading and trailing blank line included)."""
    lines = ["", "\t" + t.method, "", f"data:  {t.data}"]
    out = []
    small = max(1, digits - 2)
    if t.statistic is not None:
        out.append(f"{t.statistic[0]} = {format_numbers([t.statistic[1]], small)[0]}")
    if t.parameter is not None:
        out.append(f"{t.parameter[0]} = {format_numbers([t.parameter[1]], small)[0]}")
    if t.p_value is not None:
        fp = format_pval(t.p_value, max(1, digits - 3))
        out.append("p-value " + (fp if fp.startswith("<") else "= " + fp))
    if out:
        lines.append(", ".join(out))
    if t.null is not None:
        null = format_numbers([t.null[1]], R_DIGITS)[0]
        lines.append(f"alternative hypothesis: true {t.null[0]} is not equal to {null}")
    if t.conf_int is not None and t.conf_level is not None:
        lines.append(f"{format_numbers([100.0 * t.conf_level], R_DIGITS)[0]} percent confidence interval:")
        lines.append(" " + " ".join(format_numbers(list(t.conf_int), digits)))
    if t.estimates:
        lines.append("sample estimates:")
        lines += _print_named(t.estimates, digits)
    lines += list(t.notes)
    lines.append("")
    return "\n".join(lines)
