"""CSV cells a spreadsheet cannot execute, written atomically.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (CSV injection: a subject id ``=HYPERLINK(...)`` or a reader's
comment ``@SUM(...)`` would run when a sponsor opens ``reads.csv``). Such cells get a leading
apostrophe, the OWASP-recommended neutralisation that the spreadsheet shows as text; a cell that
parses as a number (``-1.25``, ``+3``, ``-inf``) is a number and stays as it is.

Files are written to ``NAME.part`` beside the target and renamed into place only when complete,
so a full disk or a crash never leaves a truncated or empty CSV under the real name.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = ["safe_cell", "write_csv_rows"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` with a leading apostrophe when a spreadsheet would take it for a formula."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def write_csv_rows(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> Path:
    """Write dict rows under a fixed header to ``path`` (UTF-8, ``\\n`` line ends), every cell
    through :func:`safe_cell`, atomically (``path.part`` then rename); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
