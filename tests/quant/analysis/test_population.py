"""The analysis population: the whole randomisation list, the mITT rule, and the counts."""

from __future__ import annotations

import dataclasses

import pytest

from quant.analysis.population import analysis_population
from quant.analysis.tables import run_analysis
from tests.support.analysis_records import read_pairs, trial_records


def test_mitt_needs_an_evaluable_baseline_and_a_later_value():
    recs = trial_records()
    arms = {r.subject: r.arm for r in recs}
    # S001 loses its baseline value, S002 every post-baseline value; S900 is randomised, never scanned;
    # S999 has scans but is not on the list.
    recs = [dataclasses.replace(r, lesion_pct=None) if (r.subject == "S001" and r.visit == "BASELINE")
            or (r.subject == "S002" and r.visit != "BASELINE") else r for r in recs]
    recs += [dataclasses.replace(r, subject="S999") for r in recs if r.subject == "S003"]
    randomised = sorted(arms.items()) + [("S900", "Placebo")]
    pop = analysis_population(recs, randomised)
    row = {s.subject: s for s in pop.subjects}
    assert not row["S001"].mitt and not row["S001"].baseline_evaluable
    assert not row["S002"].mitt and row["S002"].baseline_evaluable
    assert row["S900"].randomised and not row["S900"].mitt and row["S900"].scans == 0
    assert not row["S999"].randomised and row["S999"].arm is None and not row["S999"].mitt
    assert pop.mitt == set(arms) - {"S001", "S002"}
    counts = {c.arm: c for c in pop.counts}
    assert counts["Placebo"].randomised == sum(1 for a in arms.values() if a == "Placebo") + 1
    assert counts["Placebo"].with_scans == counts["Placebo"].randomised - 1
    assert sum(c.mitt for c in pop.counts) == len(pop.mitt)

    # Every table uses the values of mITT subjects only; their other scans still count in N, and
    # the long dataset keeps every scan with ANL01FL marking what the tables used.
    res = run_analysis(recs, read_pairs(), randomised=randomised)
    assert {r.subject for r in res.long} == {r.subject for r in recs} | {"S900"}  # S900: "missing scan" rows
    assert {r.subject for r in res.long if r.anl01fl} == pop.mitt
    never = [r for r in res.long if r.subject == "S900"]
    assert len(never) == 3 * len({r.visit for r in recs}) and all(r.missing_reason == "missing scan" for r in never)
    missing = res.population.missing
    assert missing[("Placebo", 0.0, "BASELINE", "missing scan")] == 1
    assert sum(n for (arm, _, _, kind), n in missing.items() if kind == "not evaluable") == sum(
        1 for r in recs if r.lesion_pct is None and (r.missing_reason or "").startswith("not evaluable"))
    only = run_analysis([r for r in recs if r.subject in pop.mitt], read_pairs())
    strip = lambda s: dataclasses.replace(s, n_total=0)  # noqa: E731
    assert [strip(s) for s in res.summaries] == [strip(s) for s in only.summaries]
    assert sum(s.n_total for s in res.summaries) > sum(s.n_total for s in only.summaries)
    assert [(c.n_treatment, c.n_control, c.hl) for c in res.comparisons] == \
        [(c.n_treatment, c.n_control, c.hl) for c in only.comparisons]


def test_the_charters_mitt_rule_decides_who_is_analysed():
    recs = trial_records()
    arms = {r.subject: r.arm for r in recs}
    # S001: no baseline value; S002: a baseline value only; S900: randomised, never scanned.
    recs = [dataclasses.replace(r, lesion_pct=None) if (r.subject == "S001" and r.visit == "BASELINE")
            or (r.subject == "S002" and r.visit != "BASELINE") else r for r in recs]
    randomised = sorted(arms.items()) + [("S900", "Placebo")]
    everyone = set(arms) | {"S900"}
    assert analysis_population(recs, randomised).mitt == everyone - {"S001", "S002", "S900"}
    assert analysis_population(recs, randomised, "baseline").mitt == everyone - {"S001", "S900"}
    itt = analysis_population(recs, randomised, "randomised")
    assert itt.mitt == everyone and itt.mitt_rule == "randomised"
    assert sum(c.mitt for c in itt.counts) == sum(c.randomised for c in itt.counts)
    with pytest.raises(ValueError, match="unknown mITT rule 'pp'"):
        analysis_population(recs, randomised, "pp")
    # The rule reaches the tables: S002's baseline value counts only when the rule admits S002.
    base = [s for s in run_analysis(recs, randomised=randomised, mitt_rule="baseline").summaries
            if s.visit == "BASELINE" and s.paramcd == "LESPCT" and s.variable == "AVAL"]
    default = [s for s in run_analysis(recs, randomised=randomised).summaries
               if s.visit == "BASELINE" and s.paramcd == "LESPCT" and s.variable == "AVAL"]
    assert sum(s.n for s in base) == sum(s.n for s in default) + 1
