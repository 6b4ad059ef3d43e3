"""Analysis tables and CSV exports from plain endpoint records."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

from quant.analysis.csv_export import ADQCT_COLUMNS, format_endpoint_table, write_analysis_csvs
from quant.analysis.tables import EndpointRecord, derive_long, run_analysis
from quant.stats.two_sample import fisher_exact, hodges_lehmann, newcombe_difference, welch_difference
from tests.support.analysis_records import read_pairs, trial_records
from tests.support.paths import REPO_ROOT


def test_long_dataset_base_chg_pchg():
    recs = trial_records()
    rows = derive_long(recs)
    assert len(rows) == len(recs) * 3
    by = {(r.subject, r.visit, r.paramcd): r for r in rows}
    base = next(r for r in recs if r.subject == "S005" and r.visit == "BASELINE")
    d10 = next(r for r in recs if r.subject == "S005" and r.visit == "DAY10")
    row = by[("S005", "DAY10", "LESPCT")]
    assert row.base == base.lesion_pct and row.aval == d10.lesion_pct
    assert row.chg == pytest.approx(d10.lesion_pct - base.lesion_pct, abs=0)
    assert row.pchg == pytest.approx(100 * (d10.lesion_pct - base.lesion_pct) / base.lesion_pct)
    assert by[("S005", "BASELINE", "LESPCT")].ablfl and not row.ablfl
    assert by[("S005", "BASELINE", "LESPCT")].chg == 0.0
    missing = by[("S002", "DAY10", "SOLPCT")]
    assert missing.aval is None and missing.chg is None and not missing.anl01fl
    assert missing.missing_reason == "not evaluable: motion"
    normct = by[("S005", "DAY10", "NORMCT")]
    assert normct.aval in (0.0, 1.0) and normct.base is None and normct.chg is None


def test_missing_baseline_gives_no_change_and_duplicates_raise():
    recs = [r for r in trial_records() if not (r.subject == "S001" and r.visit == "BASELINE")]
    rows = derive_long(recs)
    r = next(r for r in rows if r.subject == "S001" and r.visit == "DAY10" and r.paramcd == "LESPCT")
    assert r.aval is not None and r.base is None and r.chg is None and r.pchg is None
    with pytest.raises(ValueError, match="two endpoint records"):
        derive_long(trial_records() + trial_records()[:1])


def test_tables_match_direct_statistics():
    recs = trial_records()
    res = run_analysis(recs, read_pairs())
    d10 = {r.subject: r for r in recs if r.visit == "DAY10"}
    b = {r.subject: r for r in recs if r.visit == "BASELINE"}
    chg = {arm: [d10[s].lesion_pct - b[s].lesion_pct for s in d10 if d10[s].arm == arm and d10[s].lesion_pct is not None]
           for arm in ("MSC", "Placebo")}
    comp = next(c for c in res.comparisons if c.visit == "DAY10" and c.paramcd == "LESPCT" and c.variable == "CHG")
    direct = hodges_lehmann(chg["MSC"], chg["Placebo"])
    assert (comp.n_treatment, comp.n_control) == (9, 6)  # S002 missing at day 10
    assert comp.hl == direct
    assert comp.welch == welch_difference(chg["MSC"], chg["Placebo"])
    assert comp.hl.ci_high < 0  # the planted effect: MSC improves more
    # no CHG comparison at baseline, AVAL comparisons at every visit
    assert not any(c.visit == "BASELINE" and c.variable == "CHG" for c in res.comparisons)
    assert len([c for c in res.comparisons if c.variable == "AVAL"]) == 3 * 2

    s = next(s for s in res.summaries if s.visit == "DAY10" and s.arm == "MSC" and s.paramcd == "LESPCT" and s.variable == "AVAL")
    vals = np.array([d10[k].lesion_pct for k in d10 if d10[k].arm == "MSC" and d10[k].lesion_pct is not None])
    assert (s.n, s.n_total) == (9, 10)
    assert s.median == pytest.approx(np.median(vals))
    srt = np.sort(vals)  # R type 7 quantile by hand: h = (n - 1) p
    h = (len(srt) - 1) * 0.25
    assert s.q1 == pytest.approx(srt[int(h)] + (h - int(h)) * (srt[int(h) + 1] - srt[int(h)]))
    assert s.sd == pytest.approx(float(np.std(vals, ddof=1)))

    p = next(p for p in res.proportions if p.visit == "MONTH12")
    k_t = sum(1 for r in recs if r.visit == "MONTH12" and r.arm == "MSC" and r.normal_ct)
    k_c = sum(1 for r in recs if r.visit == "MONTH12" and r.arm == "Placebo" and r.normal_ct)
    assert (p.k_treatment, p.n_treatment, p.k_control, p.n_control) == (k_t, 10, k_c, 6)
    assert p.fisher_p == fisher_exact(k_t, 10, k_c, 6).p_value
    assert p.ci_low == newcombe_difference(k_t, 10, k_c, 6).ci_low
    p10 = next(p for p in res.proportions if p.visit == "DAY10")
    assert (p10.n_treatment, p10.total_treatment) == (9, 10)


def test_agreement_table_per_reader_pair():
    res = run_analysis(trial_records(), read_pairs())
    ag = {(a.scope, a.statistic): a for a in res.agreement}
    assert ag[("all", "icc_2_1")].n == 30
    assert 0.9 < ag[("all", "icc_2_1")].estimate <= 1.0
    # per pair, column A is always alice, who reads 1 point higher than bob
    bias = ag[("alice|bob", "bland_altman_bias")].estimate
    pairs = [p for p in read_pairs() if {p.reader_a, p.reader_b} == {"alice", "bob"}]
    diffs = [(p.lesion_pct_a - p.lesion_pct_b) * (1 if p.reader_a == "alice" else -1) for p in pairs]
    assert bias == pytest.approx(np.mean(diffs))
    assert ag[("alice|bob", "adjudication_rate")].estimate == pytest.approx(np.mean([p.adjudicated for p in pairs]))
    # carol's only pair has a missing read: rate is known, ICC is not estimable
    assert ag[("alice|carol", "adjudication_rate")].estimate == 0.0
    assert ag[("alice|carol", "icc_2_1")].estimate is None
    assert "not estimable" in ag[("alice|carol", "icc_2_1")].note
    assert ag[("all", "adjudication_rate")].n == 31
    assert ("all", "icc_2_1_subject_bootstrap") not in ag  # these pairs name no subject: nothing to resample


def test_whole_trial_agreement_resamples_subjects():
    # 10 subjects x 3 visits: the whole-trial rows keep the pooled estimate, with a subject-level interval
    pairs = [dataclasses.replace(p, subject=f"S{p.scan_id % 10}") for p in read_pairs() if p.scan_id < 30]
    ag = {(a.scope, a.statistic): a for a in run_analysis(trial_records(), pairs).agreement}
    icc, boot = ag[("all", "icc_2_1")], ag[("all", "icc_2_1_subject_bootstrap")]
    assert boot.estimate == icc.estimate and boot.n == 30
    assert boot.ci_low < boot.estimate < boot.ci_high <= 1.0
    assert "resamples of the 10 subjects" in boot.note
    bias = ag[("all", "bland_altman_bias_subject_bootstrap")]
    assert bias.estimate == pytest.approx(ag[("all", "bland_altman_bias")].estimate)
    assert bias.ci_low < bias.estimate < bias.ci_high
    one = [dataclasses.replace(p, subject="S1") for p in pairs]
    assert "at least 2 subjects" in {(a.scope, a.statistic): a for a in
                                     run_analysis(trial_records(), one).agreement}[("all", "icc_2_1_subject_bootstrap")].note


def test_csv_exports_parse_and_are_consistent(tmp_path):
    recs = trial_records()
    res = run_analysis(recs, read_pairs())
    files = write_analysis_csvs(res, tmp_path, studyid="NCT04288102")
    with files["adqct"].open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0].keys()) == ADQCT_COLUMNS
    with_data = sum(
        (r.lesion_pct is not None) + (r.solid_pct is not None) + (r.normal_ct is not None) for r in recs
    )
    # every scan keeps its three rows; one without a value says why (issue 16: missing data kept)
    assert len(rows) == 3 * len(recs) > with_data == sum(1 for r in rows if r["AVAL"])
    assert all(r["MISSRSN"].startswith("not evaluable") for r in rows if not r["AVAL"])
    keys = {(r["USUBJID"], r["AVISIT"], r["PARAMCD"]) for r in rows}
    assert len(keys) == len(rows)
    n_chg = 0
    for r in rows:
        if r["CHG"]:
            assert float(r["CHG"]) == pytest.approx(float(r["AVAL"]) - float(r["BASE"]), abs=1e-12)
            n_chg += 1
        assert r["TRT01P"] in ("MSC", "Placebo")
        assert r["SRCREAD"] and all(t.isdigit() for t in r["SRCREAD"].split(";"))
    assert n_chg == 2 * (len(recs) - 1)  # every LESPCT/SOLPCT row with both values (one scan missing)
    lespct = next(r for r in rows if r["USUBJID"] == "NCT04288102-S000" and r["AVISIT"] == "DAY10" and r["PARAMCD"] == "LESPCT")
    src = next(r for r in recs if r.subject == "S000" and r.visit == "DAY10")
    assert float(lespct["AVAL"]) == src.lesion_pct  # round-trip exact
    assert sum(r["ABLFL"] == "Y" for r in rows) == 16 * 3

    with files["endpoints"].open(newline="") as fh:
        ep = list(csv.DictReader(fh))
    hl = next(r for r in ep if r["section"] == "between_arm" and r["avisit"] == "DAY10" and r["paramcd"] == "LESPCT"
              and r["variable"] == "CHG" and r["statistic"] == "hl_estimate")
    comp = next(c for c in res.comparisons if c.visit == "DAY10" and c.paramcd == "LESPCT" and c.variable == "CHG")
    assert float(hl["value"]) == comp.hl.estimate and hl["group"] == "MSC - Placebo"
    n_rows = [r for r in ep if r["section"] == "summary" and r["statistic"] == "N"]
    assert n_rows and all(int(r["value"]) in (10, 6) for r in n_rows)

    with files["agreement"].open(newline="") as fh:
        ag = list(csv.DictReader(fh))
    assert {r["scope"] for r in ag} == {"all", "alice|bob", "alice|carol"}
    for name in ("adqct", "endpoints", "agreement"):
        with files[f"{name}.dictionary"].open(newline="") as fh:
            d = list(csv.DictReader(fh))
        assert list(d[0].keys()) == ["column", "type", "unit", "description"]
    with files["adqct.dictionary"].open(newline="") as fh:
        assert [r["column"] for r in csv.DictReader(fh)] == list(ADQCT_COLUMNS)

    text = format_endpoint_table(res)
    assert "DAY10" in text and "MONTH12" in text and "MSC" in text


def test_blinded_records_give_no_arm_statistics(tmp_path):
    res = run_analysis(trial_records(blinded=True))
    assert res.comparisons == [] and res.proportions == []
    assert {s.arm for s in res.summaries} == {""}
    files = write_analysis_csvs(res, tmp_path, studyid="S")
    with files["adqct"].open(newline="") as fh:
        assert all(r["TRT01P"] == "" for r in csv.DictReader(fh))


def test_not_estimable_comparison_is_reported_not_raised():
    recs = [
        EndpointRecord("A", "MSC", "BASELINE", 0, 1, 10.0, 1.0, False),
        EndpointRecord("B", "Placebo", "BASELINE", 0, 1, 12.0, 1.0, False),
    ]
    res = run_analysis(recs)
    c = next(c for c in res.comparisons if c.paramcd == "LESPCT")
    assert c.hl is not None and c.welch is None and "Welch not estimable" in c.note
    assert c.hl.p_value == 1.0 and c.hl.estimate == -2.0
    c = next(c for c in res.comparisons if c.paramcd == "SOLPCT")
    assert c.hl is None and "all observations are tied" in c.note  # 1.0 vs 1.0


def test_the_analysis_does_not_load_scipy_stats():
    """scipy.stats costs ~0.6 s CPU to import, a third of lungread stats' 2 s budget; the analysis
    uses scipy.special formulas checked against it (tests/quant/stats/test_against_scipy_stats.py)."""
    import subprocess
    import sys

    code = ("import sys\nfrom quant.analysis.tables import run_analysis\n"
            "from tests.support.analysis_records import read_pairs, trial_records\n"
            "run_analysis(trial_records(), read_pairs())\nprint('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO_ROOT)
    assert out.stdout.strip() == "False"


def test_kappa_without_an_interval_when_a_reader_makes_one_call():
    from quant.analysis.agreement import agreement_table
    from quant.analysis.tables import ReadPair

    pairs = [ReadPair(i, "alice", "bob", 5.0 + i, 5.5 + i, i < 3, False, False) for i in range(12)]
    (k,) = [a for a in agreement_table(pairs) if a.scope == "all" and a.statistic == "kappa_normal_ct"]
    assert k.estimate == 0.0 and k.ci_low is None and k.ci_high is None and "single call" in k.note
