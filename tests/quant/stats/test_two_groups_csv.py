"""Two groups from a CSV file for ``lungread stats compare`` (quant.stats.two_groups_csv)."""

from __future__ import annotations

import pytest

from quant.errors import LungReadError
from quant.stats.two_groups_csv import CompareInputError, read_two_groups

CSV = """USUBJID,ARM,CHG,NOTE
S1,UC-MSC,-1.5,a
S2,placebo,2.0,
S3,UC-MSC,,missing visit
S4,placebo,NA,
S5,UC-MSC,0.25,
S6,,3.0,no arm
S7,placebo, 4 ,
"""


@pytest.fixture
def csv_file(tmp_path):
    p = tmp_path / "adqct.csv"
    p.write_text(CSV)
    return p


def test_named_arms_give_treatment_minus_control_and_count_empty_cells(csv_file):
    g = read_two_groups(csv_file, "CHG", "ARM", treatment="placebo", control="UC-MSC")
    assert (g.treatment, g.control, g.explicit) == ("placebo", "UC-MSC", True)
    assert g.x == (2.0, 4.0) and g.y == (-1.5, 0.25)
    assert g.skipped_value == {"placebo": 1, "UC-MSC": 1} and g.skipped_group == 1


def test_one_named_arm_implies_the_other_and_none_gives_sorted_order(csv_file):
    assert read_two_groups(csv_file, "CHG", "ARM", control="placebo").treatment == "UC-MSC"
    assert read_two_groups(csv_file, "CHG", "ARM", treatment="placebo").control == "UC-MSC"
    g = read_two_groups(csv_file, "CHG", "ARM")
    assert (g.treatment, g.control, g.explicit) == ("UC-MSC", "placebo", False)


@pytest.mark.parametrize("kwargs,match", [
    (dict(value="AVAL", group="ARM"), r"no column 'AVAL' \(--value\); columns: USUBJID, ARM, CHG, NOTE"),
    (dict(value="CHG", group="TRT"), r"no column 'TRT' \(--group\)"),
    (dict(value="CHG", group="ARM", treatment="MSC"), r"--treatment 'MSC' is not a value of column 'ARM'"),
    (dict(value="CHG", group="ARM", control="Placebo"), r"--control 'Placebo' is not a value"),
    (dict(value="CHG", group="ARM", treatment="placebo", control="placebo"), "both 'placebo'"),
    (dict(value="CHG", group="USUBJID"), r"has 7 groups .*--treatment and --control"),
    (dict(value="NOTE", group="ARM"), r"line 2: NOTE = 'a' is not a number"),
])
def test_clear_errors(csv_file, kwargs, match):
    with pytest.raises(CompareInputError, match=match) as info:
        read_two_groups(csv_file, **kwargs)
    assert isinstance(info.value, LungReadError) and "\n" not in str(info.value)


def test_non_numeric_value_names_its_line_and_groups_need_values(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("g,v\nA,1\nB,2\nB,inf\n")
    with pytest.raises(CompareInputError, match=r"line 4: v = 'inf' is not a number"):
        read_two_groups(p, "v", "g")
    p.write_text("g,v\nA,1\nB,\n")
    with pytest.raises(CompareInputError, match=r"group 'B' has no v values \(1 empty cell"):
        read_two_groups(p, "v", "g")
    p.write_text("g,v\nA,1\nA,2\n")
    with pytest.raises(CompareInputError, match=r"has 1 group\(s\) \('A'\); two are needed"):
        read_two_groups(p, "v", "g")
    p.write_text("")
    with pytest.raises(CompareInputError, match="empty"):
        read_two_groups(p, "v", "g")
    with pytest.raises(FileNotFoundError):
        read_two_groups(tmp_path / "none.csv", "v", "g")


def test_third_group_is_ignored_when_two_are_named(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("g,v\nA,1\nB,2\nC,x\nA,3\nB,5\n")  # C's bad value is never read
    g = read_two_groups(p, "v", "g", treatment="B", control="A")
    assert g.x == (2.0, 5.0) and g.y == (1.0, 3.0)
