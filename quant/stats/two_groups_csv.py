"""Two groups' values from a CSV file (one row per subject: a value column and a group column),
for the statistician's calculator (``lungread stats compare``).

Direction: the *treatment* group is the first sample (``x``) and the *control* the second
(``y``), so every difference is treatment - control. Values keep the file's units. Without
``treatment``/``control`` the file must hold exactly two groups and they are taken in sorted
(code-point) order, first - second; R's ``factor`` levels may collate differently by locale
("placebo" before "UC-MSC"), so naming the arms is the way to be sure of the direction.

Empty cells (and R's ``NA``) are skipped and counted; any other value that is not a finite number
is an error naming its line. Errors are :class:`CompareInputError` (a
:class:`~quant.errors.LungReadError`: one line for the user, no traceback).
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from quant.errors import LungReadError

__all__ = ["CompareInputError", "TwoGroups", "read_two_groups", "MISSING_MARKERS"]

#: Cell texts read as a missing value (after stripping blanks): empty, and R's ``write.csv`` NA.
MISSING_MARKERS = frozenset({"", "NA"})


class CompareInputError(LungReadError):
    """The CSV file or the column / group names do not allow a two-group comparison."""


@dataclass(frozen=True)
class TwoGroups:
    """The values of the treatment (x) and control (y) groups, in file order.

    ``skipped_value``: rows per group whose value cell is empty (or NA); ``skipped_group``: rows
    whose group cell is empty; ``explicit``: whether the treatment/control roles were named by the
    user (otherwise sorted order).
    """

    path: Path
    value_column: str
    group_column: str
    treatment: str
    control: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    skipped_value: dict[str, int]
    skipped_group: int
    explicit: bool


def _number(text: str, line: int, column: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise CompareInputError(f"line {line}: {column} = {text!r} is not a number (leave the cell empty "
                                "or write NA for a missing value)")
    return v


def read_two_groups(path: str | Path, value: str, group: str, *, treatment: str | None = None,
                    control: str | None = None) -> TwoGroups:
    """Read ``value`` split by ``group`` from the CSV file at ``path`` (comma-separated, header row).

    Raises:
        CompareInputError: a column is missing, a named group is not in the file, treatment and
            control are the same, not exactly two groups and none named, a non-numeric value
            (its line is named), or a group without any value.
        FileNotFoundError: no such file.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise CompareInputError(f"{path}: the file is empty (a header row is needed)")
        header = [h.strip() for h in header]
        for label, col in (("--value", value), ("--group", group)):
            if col not in header:
                raise CompareInputError(f"{path}: no column {col!r} ({label}); columns: {', '.join(header)}")
        vi, gi = header.index(value), header.index(group)
        rows: list[tuple[int, str, str]] = []  # (line, group, value text)
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue  # blank line
            cells = cells + [""] * (len(header) - len(cells))
            rows.append((reader.line_num, cells[gi].strip(), cells[vi].strip()))
    skipped_group = sum(1 for _, g, _ in rows if g in MISSING_MARKERS)
    present = Counter(g for _, g, _ in rows if g not in MISSING_MARKERS)
    levels = sorted(present)
    shown = ", ".join(repr(g) for g in levels) or "none"
    for label, name in (("--treatment", treatment), ("--control", control)):
        if name is not None and name not in present:
            raise CompareInputError(f"{label} {name!r} is not a value of column {group!r} (values: {shown})")
    if treatment is not None and treatment == control:
        raise CompareInputError(f"--treatment and --control are both {treatment!r}: name two different groups")
    explicit = treatment is not None or control is not None
    if len(levels) != 2 and not (treatment is not None and control is not None):
        if len(levels) < 2:
            raise CompareInputError(f"column {group!r} has {len(levels)} group(s) ({shown}); two are needed")
        raise CompareInputError(f"column {group!r} has {len(levels)} groups ({shown}): name the two to compare "
                                "with --treatment and --control")
    if treatment is None and control is None:
        treatment, control = levels
    elif treatment is None:
        treatment = next(g for g in levels if g != control)
    elif control is None:
        control = next(g for g in levels if g != treatment)
    values: dict[str, list[float]] = {treatment: [], control: []}
    skipped = {treatment: 0, control: 0}
    for line, g, text in rows:
        if g not in values:
            continue
        if text in MISSING_MARKERS:
            skipped[g] += 1
        else:
            values[g].append(_number(text, line, value))
    for g in (treatment, control):
        if not values[g]:
            raise CompareInputError(f"group {g!r} has no {value} values ({skipped[g]} empty cell(s))")
    return TwoGroups(path, value, group, treatment, control, tuple(values[treatment]), tuple(values[control]),
                     skipped, skipped_group, explicit)
