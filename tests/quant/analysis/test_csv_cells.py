"""CSV injection: text a spreadsheet would execute is neutralised, numbers stay numbers, and a
failed write leaves no truncated file under the real name."""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import pytest

from quant.analysis import csv_cells
from quant.analysis.csv_cells import safe_cell, write_csv_rows


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1:A9)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://x","click")'])
def test_formula_text_gets_a_leading_apostrophe(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["-1.25", "+3", "-0", "1e-3", "-inf", "NA", "", "S-001", "ARM-ALPHA", 5, -2.5, None])
def test_numbers_and_plain_text_are_unchanged(value: object) -> None:
    assert safe_cell(value) == value


def test_written_file_reads_back_neutralised(tmp_path: Path) -> None:
    out = write_csv_rows(tmp_path / "x.csv", ("subject", "value", "comment"),
                         [{"subject": "=cmd()", "value": "-1.5", "comment": "@ok"}])
    (row,) = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row == {"subject": "'=cmd()", "value": "-1.5", "comment": "'@ok"}
    assert not (tmp_path / "x.csv.part").exists()


def test_disk_full_leaves_no_partial_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "reads.csv"
    target.write_text("previous complete export\n")

    def full(*_a, **_k):  # the disk fills up halfway through the rows
        raise OSError(errno.ENOSPC, "No space left on device")

    rows = ({"a": str(i)} for i in range(10))
    monkeypatch.setattr(csv_cells.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        write_csv_rows(target, ("a",), rows)
    assert target.read_text() == "previous complete export\n"  # the old file is intact
    assert list(tmp_path.iterdir()) == [target]  # and no .part left behind
