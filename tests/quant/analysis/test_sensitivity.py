"""The worst-rank sensitivity analysis of the primary endpoint."""

from __future__ import annotations

import dataclasses

import pytest
from scipy import stats

from quant.analysis.tables import run_analysis
from tests.support.analysis_records import trial_records


def _randomised(recs, extra=()):
    return sorted({(r.subject, r.arm) for r in recs}) + list(extra)


def test_worst_rank_keeps_every_randomised_subject_and_matches_the_rank_sum_test():
    recs = trial_records()  # S002 (MSC) is not evaluable at DAY10, the primary visit
    randomised = _randomised(recs, [("S900", "Placebo")])  # S900: randomised, never scanned
    res = run_analysis(recs, randomised=randomised)
    (w,) = res.sensitivity
    assert (w.visit, w.treatment, w.control) == ("DAY10", "MSC", "Placebo")
    assert (w.n_treatment, w.imputed_treatment, w.n_control, w.imputed_control) == (10, 1, 7, 1)
    chg = {r.subject: r.chg for r in res.long if r.paramcd == "LESPCT" and r.visit == "DAY10" and r.chg is not None}
    assert w.worst_value == max(chg.values()) + 1.0
    x = [chg.get(s, w.worst_value) for s, a in randomised if a == "MSC"]
    y = [chg.get(s, w.worst_value) for s, a in randomised if a == "Placebo"]
    # Two tied worst values: R's wilcox.test (normal approximation, continuity correction), as scipy's
    ref = stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method="asymptotic")
    assert w.p_value == pytest.approx(ref.pvalue, rel=1e-12) and "continuity correction" in w.method
    better = sum((a < b) + 0.5 * (a == b) for a in x for b in y) / (len(x) * len(y))
    assert w.win_probability == pytest.approx(better, rel=1e-12) and w.win_probability > 0.5  # MSC improves more


def test_missing_treated_subjects_ranked_worst_weaken_the_effect():
    recs = trial_records()
    lost = {"S000", "S001", "S003", "S004"}  # MSC subjects without a DAY10 value
    recs = [dataclasses.replace(r, lesion_pct=None, missing_reason="missing scan") if r.subject in lost
            and r.visit == "DAY10" else r for r in recs]
    observed = run_analysis(recs, randomised=_randomised(recs))
    (primary,) = [h for h in observed.hypotheses if h.role == "primary"]
    (w,) = observed.sensitivity
    assert w.imputed_treatment == 5 and w.imputed_control == 0
    assert w.p_value > primary.p_value
    # Blinded or without the randomisation list there is nothing to impute against.
    assert run_analysis(recs).sensitivity == []
    assert run_analysis(trial_records(blinded=True), randomised=None).sensitivity == []


def test_r_reproduces_the_worst_rank_analysis_from_the_csv_files(tmp_path):
    """tests/data/r/primary_endpoint.R reads adsl.csv and adqct.csv and repeats both analyses; here
    with subjects to impute (the demo trial has none)."""
    import subprocess

    from quant.analysis.csv_export import write_analysis_csvs
    from tests.support.paths import TEST_DATA
    from tests.support.required_tools import require_program

    rscript = require_program("Rscript")
    recs = trial_records()
    res = run_analysis(recs, randomised=_randomised(recs, [("S900", "Placebo"), ("S901", "MSC")]))
    files = write_analysis_csvs(res, tmp_path, studyid="T-1")
    proc = subprocess.run([rscript, str(TEST_DATA / "r" / "primary_endpoint.R"), str(files["adsl"]),
                           str(files["adqct"]), "DAY10", "MSC", "Placebo"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    primary, sensitivity = ([float(v) for v in line.split()] for line in proc.stdout.strip().splitlines())
    (c,) = [c for c in res.comparisons if c.visit == "DAY10" and c.paramcd == "LESPCT" and c.variable == "CHG"]
    assert primary[:2] == [c.n_treatment, c.n_control] == [9, 6]
    assert primary[2] == pytest.approx(c.hl.estimate, rel=1e-9) and primary[5] == pytest.approx(c.hl.p_value, rel=1e-9)
    (w,) = res.sensitivity
    assert sensitivity[:4] == [w.n_treatment, w.n_control, w.imputed_treatment, w.imputed_control] == [11, 7, 2, 1]
    assert sensitivity[4] == pytest.approx(w.p_value, rel=1e-9)
    assert sensitivity[5] == pytest.approx(w.win_probability, rel=1e-12)
