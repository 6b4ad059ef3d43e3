"""Endpoint analysis tables from plain per-scan records (no database types).

The database layer resolves one endpoint value per scan under the charter and hands it over as
:class:`EndpointRecord`; the long analysis dataset (BASE, CHG, PCHG, ABLFL) is derived in
:mod:`quant.analysis.records` (re-exported here), and this module computes the tables of the
statistical analysis:

* per visit x arm summaries of lesion % and solid % and their change from baseline;
* between-arm (treatment - control; which arm is which: :mod:`quant.analysis.arms`) Hodges-Lehmann
  and Welch differences;
* normal CT per visit: n/N per arm, Fisher exact p and Newcombe hybrid-score CI;
* reader agreement on double reads (:func:`agreement_table`).

Missing data: observed cases only. Every table carries N (scans at that visit and arm, missing
included) next to n (scans with a value), so nothing is dropped silently. Quantiles are R's
default (type 7, numpy's "linear"). Units: lesion % and solid % are percent of whole-lung volume;
CHG is in percentage points, PCHG in percent of baseline.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from quant.analysis.agreement import AgreementRow, ReadPair, agreement_table
from quant.analysis.arms import choose_arms
from quant.analysis.multiplicity import MultiplicityError, adjust
from quant.analysis.population import DEFAULT_MITT_RULE, Population, analysis_population
from quant.analysis.records import (
    CONTINUOUS_PARAMS,
    PARAMS,
    AnalysisRow,
    EndpointRecord,
    derive_long,
    missing_scan_rows,
)
from quant.analysis.sensitivity import WorstRankResult, worst_rank_primary
from quant.stats.proportions import fisher_exact, newcombe_difference
from quant.stats.two_sample import ShiftEstimate, WelchResult, hodges_lehmann, welch_difference

__all__ = [
    "EndpointRecord",
    "AnalysisRow",
    "Summary",
    "Comparison",
    "ProportionRow",
    "ReadPair",
    "AgreementRow",
    "AnalysisResult",
    "Hypothesis",
    "PARAMS",
    "CONTINUOUS_PARAMS",
    "derive_long",
    "summarise",
    "compare_arms",
    "normal_ct_table",
    "agreement_table",
    "run_analysis",
]


@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one parameter (AVAL or CHG) at one visit in one arm.

    n: values present; n_total: scans at this visit and arm (N); sd is None when n < 2.
    study_day: the visit's nominal study day (median of its scans' days; None when not known).
    """

    visit: str
    visit_num: float
    arm: str
    paramcd: str
    variable: str  # "AVAL" or "CHG"
    n: int
    n_total: int
    median: float | None
    q1: float | None
    q3: float | None
    mean: float | None
    sd: float | None
    minimum: float | None
    maximum: float | None
    study_day: float | None = None


@dataclass(frozen=True)
class Comparison:
    """Treatment - control at one visit for one parameter/variable; None where not estimable."""

    visit: str
    visit_num: float
    paramcd: str
    variable: str
    treatment: str
    control: str
    n_treatment: int
    n_control: int
    hl: ShiftEstimate | None
    welch: WelchResult | None
    note: str = ""


@dataclass(frozen=True)
class Hypothesis:
    """One between-arm test of the analysis plan: ``role`` primary or secondary, its raw two-sided
    p value (Wilcoxon for a shift, Fisher for normal CT) and the p value after the charter's
    multiplicity adjustment (the primary's is its raw p: tested at the full alpha)."""

    role: str
    visit: str
    visit_num: float
    paramcd: str
    variable: str
    test: str
    p_value: float
    p_adjusted: float


@dataclass(frozen=True)
class ProportionRow:
    """Normal CT at one visit: k/n per arm (N = scans incl. missing), Fisher p, Newcombe CI."""

    visit: str
    visit_num: float
    treatment: str
    control: str
    k_treatment: int
    n_treatment: int
    total_treatment: int
    k_control: int
    n_control: int
    total_control: int
    fisher_p: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    note: str = ""


@dataclass(frozen=True)
class AnalysisResult:
    """Every table of the analysis; ``n_subjects``: subjects in the long dataset (what a report
    quotes, kept apart from ``long`` so a drawing process can be sent the tables without it)."""

    long: list[AnalysisRow]
    summaries: list[Summary]
    comparisons: list[Comparison]
    proportions: list[ProportionRow]
    agreement: list[AgreementRow]
    treatment: str | None  # None while blinded (no arms, no between-arm tables)
    control: str | None
    n_subjects: int
    hypotheses: list[Hypothesis] = field(default_factory=list)
    primary_visit: str | None = None
    multiplicity: str = "holm"
    population: Population | None = None  # with the randomisation list: ADSL rows and counts (mITT)
    provenance: tuple[str, ...] = ()  # lines for the report's cover: versions, charter, lock, unblinding, audit
    sensitivity: list[WorstRankResult] = field(default_factory=list)  # of the primary endpoint, all randomised


def _describe(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return dict(median=None, q1=None, q3=None, mean=None, sd=None, minimum=None, maximum=None)
    a = np.asarray(values, dtype=np.float64)
    q1, med, q3 = np.quantile(a, [0.25, 0.5, 0.75])  # type 7, R's default
    return dict(
        median=float(med),
        q1=float(q1),
        q3=float(q3),
        mean=float(a.mean()),
        sd=float(a.std(ddof=1)) if a.size > 1 else None,
        minimum=float(a.min()),
        maximum=float(a.max()),
    )


def _visits(rows: Iterable[AnalysisRow]) -> list[tuple[float, str]]:
    return sorted({(r.visit_num, r.visit) for r in rows})


def summarise(rows: Sequence[AnalysisRow]) -> list[Summary]:
    """n, N, median, Q1, Q3, mean, SD, min, max per visit x arm for LESPCT/SOLPCT (AVAL and CHG).

    Blinded rows (arm None) are summarised as one pooled group named "".
    """
    groups: dict[tuple[float, str, str, str], list[AnalysisRow]] = defaultdict(list)
    for r in rows:
        if r.paramcd in CONTINUOUS_PARAMS:
            groups[(r.visit_num, r.visit, r.arm or "", r.paramcd)].append(r)
    days: dict[float, list[int]] = defaultdict(list)
    for r in rows:
        if r.visit_day is not None:
            days[r.visit_num].append(r.visit_day)
    study_day = {vnum: float(np.median(d)) for vnum, d in days.items()}
    out: list[Summary] = []
    for (vnum, visit, arm, paramcd), grp in sorted(groups.items()):
        for variable in ("AVAL", "CHG"):
            vals = [getattr(r, variable.lower()) for r in grp]
            vals = [v for v in vals if v is not None]
            out.append(
                Summary(visit, vnum, arm, paramcd, variable, len(vals), len(grp), **_describe(vals),
                        study_day=study_day.get(vnum))
            )
    return out


def _arm_values(rows, vnum, paramcd, variable, arm) -> list[float]:
    return [
        getattr(r, variable.lower())
        for r in rows
        if r.visit_num == vnum and r.paramcd == paramcd and r.arm == arm and getattr(r, variable.lower()) is not None
    ]


def compare_arms(
    rows: Sequence[AnalysisRow], treatment: str, control: str, conf: float = 0.95
) -> list[Comparison]:
    """Hodges-Lehmann (with Wilcoxon p) and Welch treatment - control per visit and parameter.

    Done for AVAL and, after baseline, CHG of LESPCT and SOLPCT. A statistic that cannot be
    estimated (empty arm, all values tied, n < 2 for Welch) is None with the reason in ``note``.
    Nothing is returned while blinded (no row has an arm).
    """
    if not any(r.arm is not None for r in rows):
        return []
    base_num = min((r.visit_num for r in rows if r.ablfl), default=None)
    out: list[Comparison] = []
    for vnum, visit in _visits(rows):
        for paramcd in CONTINUOUS_PARAMS:
            for variable in ("AVAL", "CHG"):
                if variable == "CHG" and vnum == base_num:
                    continue  # change from baseline is identically 0 at baseline
                x = _arm_values(rows, vnum, paramcd, variable, treatment)
                y = _arm_values(rows, vnum, paramcd, variable, control)
                notes = []
                try:
                    hl = hodges_lehmann(x, y, conf)
                except ValueError as exc:
                    hl = None
                    notes.append(f"Hodges-Lehmann not estimable: {exc}")
                try:
                    welch = welch_difference(x, y, conf)
                except ValueError as exc:
                    welch = None
                    notes.append(f"Welch not estimable: {exc}")
                out.append(
                    Comparison(visit, vnum, paramcd, variable, treatment, control, len(x), len(y), hl, welch, "; ".join(notes))
                )
    return out


def normal_ct_table(
    rows: Sequence[AnalysisRow], treatment: str, control: str, conf: float = 0.95
) -> list[ProportionRow]:
    """Normal CT per visit: k/n (N) per arm, two-sided Fisher p and Newcombe CI of p_t - p_c."""
    if not any(r.arm is not None for r in rows):
        return []
    out: list[ProportionRow] = []
    for vnum, visit in _visits(rows):
        counts = {}
        for arm in (treatment, control):
            arm_rows = [r for r in rows if r.visit_num == vnum and r.paramcd == "NORMCT" and r.arm == arm]
            vals = [r.aval for r in arm_rows if r.aval is not None]
            counts[arm] = (int(sum(vals)), len(vals), len(arm_rows))
        (kt, nt, tt), (kc, nc, tc) = counts[treatment], counts[control]
        p = d = lo = hi = None
        note = ""
        if nt == 0 or nc == 0:
            note = "an arm has no normal-CT call at this visit"
        else:
            p = fisher_exact(kt, nt, kc, nc).p_value
            nw = newcombe_difference(kt, nt, kc, nc, conf)
            d, lo, hi = nw.diff, nw.ci_low, nw.ci_high
        out.append(ProportionRow(visit, vnum, treatment, control, kt, nt, tt, kc, nc, tc, p, d, lo, hi, note))
    return out


def run_analysis(
    records: Iterable[EndpointRecord],
    pairs: Sequence[ReadPair] = (),
    treatment: str | None = None,
    control: str | None = None,
    conf: float = 0.95,
    *,
    arms: Iterable[str] | None = None,
    primary_visit: str | None = None,
    multiplicity: str = "holm",
    randomised: Sequence[tuple[str, str]] | None = None,
    mitt_rule: str = DEFAULT_MITT_RULE,
) -> AnalysisResult:
    """All analysis tables at once (what ``lungread stats`` writes).

    ``arms``: the randomisation list's arms (default: those of the records). ``treatment`` /
    ``control`` name which is which, else :func:`quant.analysis.arms.choose_arms` decides or
    refuses. Blinded records (no arm) give no between-arm tables and no treatment/control.
    ``primary_visit`` (default: the first visit after baseline) and ``multiplicity``: see
    :mod:`quant.analysis.multiplicity`. ``randomised``: the whole randomisation list ((subject,
    arm) per line); with it every table uses the values of mITT subjects only (other scans still
    count in N), ``long`` keeps every scan with ANL01FL marking what the tables used
    (:mod:`quant.analysis.population`; ``mitt_rule`` says who is in mITT), and the result carries
    the population and the worst-rank sensitivity analysis of the primary endpoint
    (:mod:`quant.analysis.sensitivity`).

    Raises:
        ArmError: the arms cannot be told apart, or a named arm is not in the list.
        MultiplicityError: an unknown adjustment, or a primary visit the data does not have.
    """
    records = list(records)
    long = derive_long(records)
    analysed = long
    population = None
    if randomised is not None:
        population = analysis_population(records, randomised, mitt_rule)
        arms = {arm for _, arm in randomised} if arms is None else arms
        # Outside mITT a scan still counts in N (scans at that visit and arm) but gives no value.
        analysed = [r if r.subject in population.mitt else
                    dataclasses.replace(r, aval=None, base=None, chg=None, pchg=None, anl01fl=False) for r in long]
        long = [dataclasses.replace(r, anl01fl=r.anl01fl and r.subject in population.mitt) for r in long]
        long += missing_scan_rows(long, population)
        missing: dict[tuple[str, float, str, str], int] = defaultdict(int)
        for r in long:
            if r.paramcd == "LESPCT" and r.aval is None and r.arm is not None:
                missing[(r.arm, r.visit_num, r.visit, (r.missing_reason or "no value").split(":")[0])] += 1
        population = dataclasses.replace(population, missing=dict(missing))
    listed = set(arms) if arms is not None else {r.arm for r in records if r.arm is not None}
    if listed:
        choice = choose_arms(listed, treatment, control)
        treatment, control = choice.treatment, choice.control
    else:
        treatment = control = None
    comparisons = compare_arms(analysed, treatment, control, conf) if treatment and control else []
    proportions = normal_ct_table(analysed, treatment, control, conf) if treatment and control else []
    primary = _primary_visit(long, primary_visit)
    sensitivity = ([worst_rank_primary(long, randomised, primary, treatment, control)]
                   if randomised is not None and primary and treatment and control else [])
    return AnalysisResult(
        long=long,
        summaries=summarise(analysed),
        comparisons=comparisons,
        proportions=proportions,
        agreement=agreement_table(pairs),
        treatment=treatment,
        control=control,
        n_subjects=len({row.subject for row in long}),
        hypotheses=_hypotheses(comparisons, proportions, primary, multiplicity,
                               min((r.visit_num for r in long if r.ablfl), default=None)),
        primary_visit=primary,
        multiplicity=multiplicity,
        population=population,
        sensitivity=sensitivity,
    )


def _primary_visit(rows: Sequence[AnalysisRow], named: str | None) -> str | None:
    visits = _visits(rows)
    if named is not None:
        if named not in {v for _, v in visits}:
            raise MultiplicityError(f"the primary visit {named!r} is not in the data; visits: "
                                    + ", ".join(v for _, v in visits))
        return named
    base = min((r.visit_num for r in rows if r.ablfl), default=None)
    after = [v for n, v in visits if base is not None and n > base]
    return after[0] if after else None


def _hypotheses(comparisons: Sequence[Comparison], proportions: Sequence[ProportionRow], primary: str | None,
                multiplicity: str, baseline_num: float | None) -> list[Hypothesis]:
    """The primary test and the secondary family in its fixed order, adjusted (module
    :mod:`quant.analysis.multiplicity` states the plan)."""
    adjust([], multiplicity)  # an unknown method is refused even when nothing is testable
    chg = [c for c in comparisons if c.variable == "CHG" and c.hl is not None]
    first = [c for c in chg if c.visit == primary and c.paramcd == "LESPCT"]
    out = [Hypothesis("primary", c.visit, c.visit_num, c.paramcd, c.variable, "wilcoxon", c.hl.p_value,
                      c.hl.p_value) for c in first]  # type: ignore[union-attr]
    rank = {p: i for i, p in enumerate(CONTINUOUS_PARAMS)}
    family = [("wilcoxon", c.visit, c.visit_num, c.paramcd, c.variable, c.hl.p_value)  # type: ignore[union-attr]
              for c in sorted(chg, key=lambda c: (c.visit_num, rank[c.paramcd])) if c not in first]
    family += [("fisher", p.visit, p.visit_num, "NORMCT", "AVAL", p.fisher_p)
               for p in sorted(proportions, key=lambda p: p.visit_num)
               if p.fisher_p is not None and (baseline_num is None or p.visit_num > baseline_num)]
    adjusted = adjust([f[5] for f in family], multiplicity)
    out += [Hypothesis("secondary", visit, vnum, param, var, test, p, a)
            for (test, visit, vnum, param, var, p), a in zip(family, adjusted)]
    return out
