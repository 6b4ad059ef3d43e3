"""Primary endpoint and the multiplicity adjustment of the secondary family, against R's p.adjust."""

from __future__ import annotations

import csv
import subprocess

import numpy as np
import pytest

from quant.analysis.csv_export import format_endpoint_table, write_analysis_csvs
from quant.analysis.multiplicity import MultiplicityError, adjust, fixed_sequence, holm
from quant.analysis.tables import run_analysis
from tests.support.analysis_records import read_pairs, trial_records
from tests.support.required_tools import require_program

P = [0.01, 0.04, 0.03, 0.005, 0.2, 0.011]


def test_holm_matches_r_p_adjust():
    # R 4.2.2: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.2, 0.011), "holm")
    assert holm(P) == pytest.approx([0.05, 0.09, 0.09, 0.03, 0.2, 0.05], abs=1e-15)
    assert holm([]) == [] and holm([0.7]) == [0.7] and holm([0.4, 0.6]) == [0.8, 0.8]


def test_fixed_sequence_is_the_running_maximum():
    assert fixed_sequence([0.01, 0.04, 0.03, 0.5, 0.001]) == [0.01, 0.04, 0.04, 0.5, 0.5]
    assert adjust(P, "none") == P
    with pytest.raises(MultiplicityError, match="one of holm, hierarchy, none"):
        adjust(P, "bonferroni")


def test_holm_against_r_itself():
    """The same vectors through Rscript's p.adjust (r-base-core is installed by tools/setup.sh)."""
    rscript = require_program("Rscript")
    rng = np.random.default_rng(11)
    vectors = [rng.uniform(0, 0.2, n).round(6).tolist() for n in (2, 5, 9, 17)]
    code = "; ".join(f"cat(sprintf('%.17g', p.adjust(c({', '.join(map(repr, v))}), 'holm')), '\\n')" for v in vectors)
    out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, check=True).stdout.splitlines()
    for v, line in zip(vectors, out):
        assert holm(v) == pytest.approx([float(x) for x in line.split()], rel=1e-14)


def test_the_primary_is_lesion_change_at_the_first_visit_after_baseline():
    res = run_analysis(trial_records(), read_pairs())
    primary = [h for h in res.hypotheses if h.role == "primary"]
    assert [(h.visit, h.paramcd, h.variable, h.test) for h in primary] == [("DAY10", "LESPCT", "CHG", "wilcoxon")]
    assert primary[0].p_adjusted == primary[0].p_value  # full alpha
    secondary = [h for h in res.hypotheses if h.role == "secondary"]
    # DAY10 SOLPCT, MONTH12 LESPCT and SOLPCT (Wilcoxon), then normal CT at DAY10 and MONTH12 (Fisher)
    assert [(h.visit, h.paramcd, h.test) for h in secondary] == [
        ("DAY10", "SOLPCT", "wilcoxon"), ("MONTH12", "LESPCT", "wilcoxon"), ("MONTH12", "SOLPCT", "wilcoxon"),
        ("DAY10", "NORMCT", "fisher"), ("MONTH12", "NORMCT", "fisher")]
    assert [h.p_adjusted for h in secondary] == pytest.approx(holm([h.p_value for h in secondary]))
    other = run_analysis(trial_records(), read_pairs(), primary_visit="MONTH12", multiplicity="hierarchy")
    assert [h.visit for h in other.hypotheses if h.role == "primary"] == ["MONTH12"]
    sec = [h for h in other.hypotheses if h.role == "secondary"]
    assert [h.p_adjusted for h in sec] == pytest.approx(fixed_sequence([h.p_value for h in sec]))
    with pytest.raises(MultiplicityError, match="'WEEK7' is not in the data"):
        run_analysis(trial_records(), read_pairs(), primary_visit="WEEK7")


def test_plan_is_written_and_printed(tmp_path):
    res = run_analysis(trial_records(), read_pairs())
    files = write_analysis_csvs(res, tmp_path, "T")
    with open(files["endpoints"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    roles = {(r["avisit"], r["paramcd"]): r["value"] for r in rows if r["statistic"] == "role"}
    assert roles[("DAY10", "LESPCT")] == "primary" and roles[("MONTH12", "NORMCT")] == "secondary"
    adjusted = {(r["avisit"], r["paramcd"]): float(r["value"]) for r in rows
                if r["statistic"] in ("wilcoxon_p_adjusted", "fisher_p_adjusted")}
    for h in res.hypotheses:
        assert adjusted[(h.visit, h.paramcd)] == pytest.approx(h.p_adjusted, rel=1e-12)
    text = format_endpoint_table(res)
    assert "Primary endpoint: change from baseline in lesion % at DAY10, MSC - Placebo" in text
    assert "Holm-adjusted" in text
    blinded = run_analysis(trial_records(blinded=True))
    assert blinded.hypotheses == [] and "Primary endpoint" not in format_endpoint_table(blinded)
