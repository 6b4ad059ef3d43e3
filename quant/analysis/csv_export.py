"""CSV exports of the endpoint analysis: adqct.csv (ADaM BDS-style), endpoints.csv, agreement.csv.

Every file comes with a data dictionary (column, type, unit, description) written by
:func:`write_data_dictionary`. Numbers are written with Python's shortest round-trip repr, so a
statistician re-reading the CSV gets exactly the computed doubles; missing values are empty cells.
Files are UTF-8 with ``\\n`` line ends (csv module, ``newline=""``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from quant.analysis.agreement import AgreementRow
from quant.analysis.csv_cells import write_csv_rows
from quant.analysis.population import Population
from quant.analysis.sensitivity import WorstRankResult
from quant.analysis.tables import PARAMS, AnalysisResult, AnalysisRow, Comparison, Hypothesis, ProportionRow, Summary

__all__ = [
    "DictEntry",
    "ADQCT_COLUMNS",
    "ADQCT_DICTIONARY",
    "ENDPOINTS_DICTIONARY",
    "AGREEMENT_DICTIONARY",
    "adqct_rows",
    "endpoint_rows",
    "agreement_rows",
    "write_csv",
    "write_data_dictionary",
    "write_analysis_csvs",
    "format_endpoint_table",
]


@dataclass(frozen=True)
class DictEntry:
    """One data-dictionary line: column name, type, unit ("" if none) and description."""

    column: str
    type: str
    unit: str
    description: str


ADQCT_DICTIONARY: tuple[DictEntry, ...] = (
    DictEntry("STUDYID", "text", "", "Study identifier"),
    DictEntry("USUBJID", "text", "", "Unique subject identifier (STUDYID-subject)"),
    DictEntry("TRT01P", "text", "", "Planned treatment (randomised arm); empty while blinded"),
    DictEntry("AVISIT", "text", "", "Analysis visit name"),
    DictEntry("AVISITN", "float", "", "Analysis visit number (sort order)"),
    DictEntry("ADY", "integer", "day", "Analysis relative day (study day of the scan)"),
    DictEntry("PARAMCD", "text", "", "Parameter code: LESPCT, SOLPCT or NORMCT"),
    DictEntry("PARAM", "text", "", "Parameter description with unit"),
    DictEntry("AVAL", "float", "% of lung volume (LESPCT, SOLPCT); 1/0 (NORMCT)", "Analysis value"),
    DictEntry("BASE", "float", "% of lung volume", "Baseline value (LESPCT, SOLPCT only)"),
    DictEntry("CHG", "float", "percentage points", "Change from baseline: AVAL - BASE"),
    DictEntry("PCHG", "float", "%", "Percent change from baseline: 100 * CHG / BASE (empty if BASE = 0)"),
    DictEntry("ABLFL", "flag (Y or empty)", "", "Baseline record flag"),
    DictEntry("ANL01FL", "flag (Y or empty)", "", "Analysis flag: the tables use this record (it has a value and, "
              "once the randomisation list is loaded, the subject is in mITT; observed cases)"),
    DictEntry("SRCREAD", "text", "", "Source read id(s) of the endpoint value, ';'-separated"),
    DictEntry("MISSRSN", "text", "", "Why AVAL (or, after baseline, CHG) is missing: 'not evaluable: <reason>', "
              "'pending: ...' (reads or adjudication unfinished at export), 'missing scan' (a randomised "
              "subject's planned visit without a scan) or 'missing baseline'"),
)
ADQCT_COLUMNS = tuple(e.column for e in ADQCT_DICTIONARY)

ADSL_DICTIONARY: tuple[DictEntry, ...] = (
    DictEntry("STUDYID", "text", "", "Study identifier (trial name)"),
    DictEntry("USUBJID", "text", "", "Unique subject identifier (STUDYID-subject)"),
    DictEntry("SUBJID", "text", "", "Subject identifier as in the manifest and the randomisation list"),
    DictEntry("ARM", "text", "", "Randomised arm (the randomisation list's spelling); empty: not in the list"),
    DictEntry("TRT01P", "text", "", "Planned treatment: the randomised arm"),
    DictEntry("RANDFL", "flag (Y or N)", "", "Randomised: the subject is in the randomisation list"),
    DictEntry("MITTFL", "flag (Y or N)", "", "mITT under the charter's rule (mitt_rule; the report's cover "
              "states it; default: randomised, evaluable baseline lesion % and at least one evaluable lesion % "
              "after baseline); every analysis table uses MITTFL = Y"),
    DictEntry("BLEVFL", "flag (Y or N)", "", "Baseline lesion % evaluable"),
    DictEntry("NSCANS", "integer", "scans", "Scans of the subject with an endpoint record"),
    DictEntry("NEVAL", "integer", "scans", "Scans with an evaluable lesion %"),
)
ADSL_COLUMNS = tuple(e.column for e in ADSL_DICTIONARY)

ENDPOINTS_DICTIONARY: tuple[DictEntry, ...] = (
    DictEntry("section", "text", "", "population (per arm: randomised, with_scans, evaluable per visit, mitt), "
              "summary (per visit x arm), between_arm (treatment - control), normal_ct, or sensitivity (the "
              "primary endpoint over every randomised subject, missing changes ranked worst: n, n_imputed per "
              "arm; worst_value, wilcoxon_p, win_probability = P(treated subject better) + ties / 2)"),
    DictEntry("avisit", "text", "", "Analysis visit name"),
    DictEntry("avisitn", "float", "", "Analysis visit number"),
    DictEntry("paramcd", "text", "", "LESPCT, SOLPCT or NORMCT"),
    DictEntry("variable", "text", "", "AVAL (value) or CHG (change from baseline)"),
    DictEntry("group", "text", "", "Arm, or 'treatment - control' for between-arm statistics"),
    DictEntry("statistic", "text", "", "Statistic name (n, N, median, q1, q3, mean, sd, min, max, hl_estimate, "
              "hl_ci_low, hl_ci_high, wilcoxon_p, hl_method, hl_conf_level, welch_diff, welch_ci_low, "
              "welch_ci_high, welch_p, welch_df, n_treatment, n_control, k, fisher_p, diff, ci_low, ci_high; "
              "for a tested comparison role = primary or secondary, and wilcoxon_p_adjusted or "
              "fisher_p_adjusted: the p value after the charter's multiplicity adjustment of the secondary "
              "family; the primary's equals its raw p)"),
    DictEntry("value", "float or text", "% of lung volume, percentage points (CHG), fraction (normal_ct diff), "
              "p value or count", "Value of the statistic (quantiles: R type 7)"),
    DictEntry("note", "text", "", "Why a statistic is missing, or the method used"),
)

AGREEMENT_DICTIONARY: tuple[DictEntry, ...] = (
    DictEntry("scope", "text", "", "'all' double reads, or a reader pair 'readerX|readerY' (A = X)"),
    DictEntry("statistic", "text", "", "icc_2_1, bland_altman_bias, bland_altman_sd, bland_altman_loa_low, "
              "bland_altman_loa_high, kappa_normal_ct, adjudication_rate"),
    DictEntry("estimate", "float", "ICC/kappa: none; Bland-Altman: percentage points; rate: fraction", "Estimate"),
    DictEntry("ci_low", "float", "as estimate", "Lower 95% confidence bound (ICC: McGraw-Wong F-based; kappa: "
              "Fleiss-Cohen-Everitt asymptotic SE)"),
    DictEntry("ci_high", "float", "as estimate", "Upper 95% confidence bound"),
    DictEntry("n", "integer", "read pairs", "Number of read pairs used"),
    DictEntry("note", "text", "", "Why a statistic is missing, or detail"),
)


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "Y" if v else ""
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


def _missing_reason(r: AnalysisRow) -> str:
    if r.aval is None:
        return r.missing_reason or ""
    if r.paramcd in ("LESPCT", "SOLPCT") and not r.ablfl and r.chg is None and r.base is None:
        return "missing baseline"
    return ""


def adqct_rows(rows: Iterable[AnalysisRow], studyid: str, include_missing: bool = True) -> list[dict[str, str]]:
    """ADaM BDS-style rows, one per subject x visit x parameter: every planned one, a row without a
    value keeping its reason (MISSRSN; AVAL and ANL01FL empty). ``include_missing=False``: only
    the rows with a value."""
    out = []
    for r in rows:
        if r.aval is None and not include_missing:
            continue
        out.append(
            {
                "STUDYID": studyid,
                "USUBJID": f"{studyid}-{r.subject}",
                "TRT01P": r.arm or "",
                "AVISIT": r.visit,
                "AVISITN": _fmt(r.visit_num),
                "ADY": _fmt(r.visit_day),
                "PARAMCD": r.paramcd,
                "PARAM": PARAMS[r.paramcd],
                "AVAL": _fmt(r.aval),
                "BASE": _fmt(r.base),
                "CHG": _fmt(r.chg),
                "PCHG": _fmt(r.pchg),
                "ABLFL": _fmt(r.ablfl),
                "ANL01FL": _fmt(r.anl01fl),
                "SRCREAD": ";".join(str(i) for i in r.source_read_ids),
                "MISSRSN": _missing_reason(r),
            }
        )
    return out


def _row(section, visit, vnum, paramcd, variable, group, statistic, value, note="") -> dict[str, str]:
    return {
        "section": section,
        "avisit": visit,
        "avisitn": _fmt(vnum),
        "paramcd": paramcd,
        "variable": variable,
        "group": group,
        "statistic": statistic,
        "value": _fmt(value),
        "note": note,
    }


def endpoint_rows(
    summaries: Sequence[Summary], comparisons: Sequence[Comparison], proportions: Sequence[ProportionRow],
    hypotheses: Sequence[Hypothesis] = (),
) -> list[dict[str, str]]:
    """Tidy rows (one statistic per row) of the summary, between-arm and normal-CT tables; a tested
    comparison also has its ``role`` (primary or secondary) and multiplicity-adjusted p."""
    plan = {(h.test, h.visit_num, h.paramcd, h.variable): h for h in hypotheses}
    out = []
    for s in summaries:
        for stat, value in (
            ("n", s.n), ("N", s.n_total), ("median", s.median), ("q1", s.q1), ("q3", s.q3),
            ("mean", s.mean), ("sd", s.sd), ("min", s.minimum), ("max", s.maximum),
        ):
            out.append(_row("summary", s.visit, s.visit_num, s.paramcd, s.variable, s.arm, stat, value))
    for c in comparisons:
        group = f"{c.treatment} - {c.control}"
        stats: list[tuple[str, object]] = [("n_treatment", c.n_treatment), ("n_control", c.n_control)]
        if c.hl is not None:
            stats += [
                ("hl_estimate", c.hl.estimate), ("hl_ci_low", c.hl.ci_low), ("hl_ci_high", c.hl.ci_high),
                ("wilcoxon_p", c.hl.p_value), ("hl_method", c.hl.method), ("hl_conf_level", c.hl.conf_level),
            ]
        if c.welch is not None:
            stats += [
                ("welch_diff", c.welch.diff), ("welch_ci_low", c.welch.ci_low), ("welch_ci_high", c.welch.ci_high),
                ("welch_p", c.welch.p_value), ("welch_df", c.welch.df),
            ]
        h = plan.get(("wilcoxon", c.visit_num, c.paramcd, c.variable))
        if h is not None:
            stats += [("role", h.role), ("wilcoxon_p_adjusted", h.p_adjusted)]
        for stat, value in stats:
            out.append(_row("between_arm", c.visit, c.visit_num, c.paramcd, c.variable, group, stat, value, c.note))
    for p in proportions:
        for arm, k, n, total in ((p.treatment, p.k_treatment, p.n_treatment, p.total_treatment),
                                 (p.control, p.k_control, p.n_control, p.total_control)):
            for stat, value in (("k", k), ("n", n), ("N", total)):
                out.append(_row("normal_ct", p.visit, p.visit_num, "NORMCT", "AVAL", arm, stat, value))
        group = f"{p.treatment} - {p.control}"
        h = plan.get(("fisher", p.visit_num, "NORMCT", "AVAL"))
        tested = [("role", h.role), ("fisher_p_adjusted", h.p_adjusted)] if h is not None else []
        for stat, value in (("fisher_p", p.fisher_p), ("diff", p.diff), ("ci_low", p.ci_low), ("ci_high", p.ci_high),
                            *tested):
            note = p.note or ("Newcombe hybrid score (method 10)" if stat.startswith("ci") else "")
            out.append(_row("normal_ct", p.visit, p.visit_num, "NORMCT", "AVAL", group, stat, value, note))
    return out


def sensitivity_rows(results: Sequence[WorstRankResult]) -> list[dict[str, str]]:
    """Tidy rows of the worst-rank sensitivity analysis (section ``sensitivity``)."""
    out = []
    for w in results:
        def row(group, stat, value, note=""):
            return _row("sensitivity", w.visit, "", "LESPCT", "CHG", group, stat, value, note)
        for arm, n, k in ((w.treatment, w.n_treatment, w.imputed_treatment), (w.control, w.n_control, w.imputed_control)):
            out += [row(arm, "n", n), row(arm, "n_imputed", k, "no change from baseline at this visit: ranked worst")]
        group = f"{w.treatment} - {w.control}"
        out += [row(group, "worst_value", w.worst_value, "max(observed CHG) + 1"),
                row(group, "wilcoxon_p", w.p_value, w.note or f"worst-rank; {w.method}"),
                row(group, "win_probability", w.win_probability, w.note)]
    return out


def adsl_rows(population: Population, studyid: str) -> list[dict[str, str]]:
    """ADSL-style subject rows of the analysis population."""
    yn = {True: "Y", False: "N"}
    return [{"STUDYID": studyid, "USUBJID": f"{studyid}-{s.subject}", "SUBJID": s.subject, "ARM": s.arm or "",
             "TRT01P": s.arm or "", "RANDFL": yn[s.randomised], "MITTFL": yn[s.mitt],
             "BLEVFL": yn[s.baseline_evaluable], "NSCANS": str(s.scans), "NEVAL": str(s.evaluable)}
            for s in population.subjects]


def population_rows(population: Population) -> list[dict[str, str]]:
    """CONSORT-style counts per arm as tidy endpoints.csv rows (section ``population``)."""
    out = []
    for (arm, vnum, visit, kind), n in sorted(population.missing.items()):
        out.append(_row("population", visit, vnum, "LESPCT", "AVAL", arm, f"missing: {kind}", n))
    for c in population.counts:
        out += [_row("population", "", "", "", "", c.arm, "randomised", c.randomised),
                _row("population", "", "", "", "", c.arm, "with_scans", c.with_scans)]
        out += [_row("population", visit, "", "LESPCT", "AVAL", c.arm, "evaluable", n) for visit, n in c.evaluable.items()]
        out.append(_row("population", "", "", "", "", c.arm, "mitt", c.mitt))
    return out


def agreement_rows(rows: Sequence[AgreementRow]) -> list[dict[str, str]]:
    """Tidy rows of the reader-agreement table."""
    return [
        {
            "scope": a.scope, "statistic": a.statistic, "estimate": _fmt(a.estimate),
            "ci_low": _fmt(a.ci_low), "ci_high": _fmt(a.ci_high), "n": _fmt(a.n), "note": a.note,
        }
        for a in rows
    ]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> Path:
    """Write dict rows with a fixed header (columns) to ``path``, formula-safe and atomically
    (:mod:`quant.analysis.csv_cells`); returns the path."""
    return write_csv_rows(path, columns, rows)


def write_data_dictionary(path: Path, entries: Iterable[DictEntry]) -> Path:
    """Write a data dictionary CSV with columns column, type, unit, description."""
    return write_csv(
        path,
        ("column", "type", "unit", "description"),
        ({"column": e.column, "type": e.type, "unit": e.unit, "description": e.description} for e in entries),
    )


def write_analysis_csvs(result: AnalysisResult, out_dir: Path, studyid: str) -> dict[str, Path]:
    """Write adqct.csv, endpoints.csv, agreement.csv (and, with the randomisation list, adsl.csv)
    and their ``*.dictionary.csv`` into out_dir."""
    out_dir = Path(out_dir)
    files = {
        "adqct": write_csv(out_dir / "adqct.csv", ADQCT_COLUMNS, adqct_rows(result.long, studyid)),
        "endpoints": write_csv(
            out_dir / "endpoints.csv",
            [e.column for e in ENDPOINTS_DICTIONARY],
            (population_rows(result.population) if result.population else [])
            + endpoint_rows(result.summaries, result.comparisons, result.proportions, result.hypotheses)
            + sensitivity_rows(result.sensitivity),
        ),
        "agreement": write_csv(
            out_dir / "agreement.csv", [e.column for e in AGREEMENT_DICTIONARY], agreement_rows(result.agreement)
        ),
    }
    dictionaries = [("adqct", ADQCT_DICTIONARY), ("endpoints", ENDPOINTS_DICTIONARY), ("agreement", AGREEMENT_DICTIONARY)]
    if result.population is not None:
        files["adsl"] = write_csv(out_dir / "adsl.csv", ADSL_COLUMNS, adsl_rows(result.population, studyid))
        dictionaries.append(("adsl", ADSL_DICTIONARY))
    for name, entries in dictionaries:
        files[f"{name}.dictionary"] = write_data_dictionary(out_dir / f"{name}.dictionary.csv", entries)
    return files


def _num(v: float | None, digits: int = 2) -> str:
    return "NA" if v is None else f"{v:.{digits}f}"


def _p(v: float | None) -> str:
    if v is None:
        return "NA"
    return "<0.0001" if v < 1e-4 else f"{v:.4f}"


def format_endpoint_table(result: AnalysisResult, paramcd: str = "LESPCT") -> str:
    """Plain-text endpoint table for the terminal: per visit, n/N and median per arm of the change
    from baseline (AVAL at baseline), then HL shift (95% CI), Wilcoxon p, and normal CT n/N + Fisher p.
    """
    t, c = result.treatment, result.control
    if t is None or c is None:
        return f"{PARAMS[paramcd]}: blinded analysis (no arms); the pooled summaries are in endpoints.csv"
    summ = {(s.visit_num, s.arm, s.paramcd, s.variable): s for s in result.summaries}
    comp = {(x.visit_num, x.paramcd, x.variable): x for x in result.comparisons}
    prop = {p.visit_num: p for p in result.proportions}
    visits = sorted({(s.visit_num, s.visit) for s in result.summaries})
    head = f"{'visit':<10} {'var':<4} {t + ' n/N':>9} {t + ' med':>10} {c + ' n/N':>12} {c + ' med':>12}  {'HL shift (95% CI)':<26} {'p':>8}  {'normal CT ' + t:>14} {c:>8} {'Fisher p':>9}"
    lines = [f"{PARAMS[paramcd]}: {t} - {c}", head, "-" * len(head)]
    for vnum, visit in visits:
        var = "CHG" if (vnum, paramcd, "CHG") in comp else "AVAL"
        st, sc = summ.get((vnum, t, paramcd, var)), summ.get((vnum, c, paramcd, var))
        cm = comp.get((vnum, paramcd, var))
        hl = cm.hl if cm else None
        shift = f"{_num(hl.estimate)} ({_num(hl.ci_low)}, {_num(hl.ci_high)})" if hl else "NA"
        if hl and abs(hl.conf_level - 0.95) > 1e-9:  # tiny arms: the exact interval cannot reach 95%
            shift += f" {100 * hl.conf_level:.1f}%"
        pr = prop.get(vnum)
        nct_t = f"{pr.k_treatment}/{pr.n_treatment}" if pr else "NA"
        nct_c = f"{pr.k_control}/{pr.n_control}" if pr else "NA"
        lines.append(
            f"{visit:<10} {var:<4} "
            f"{(f'{st.n}/{st.n_total}' if st else 'NA'):>9} {_num(st.median if st else None):>10} "
            f"{(f'{sc.n}/{sc.n_total}' if sc else 'NA'):>12} {_num(sc.median if sc else None):>12}  "
            f"{shift:<26} {_p(hl.p_value if hl else None):>8}  {nct_t:>14} {nct_c:>8} {_p(pr.fisher_p if pr else None):>9}"
        )
    return "\n".join(lines + plan_lines(result))


def plan_lines(result: AnalysisResult) -> list[str]:
    """The analysis plan under a table: the population, the primary endpoint with its p, and how
    the secondary p values are adjusted (raw p in the table; the adjusted ones in endpoints.csv)."""
    out = [""]
    if result.population is not None:
        arms = "; ".join(f"{c.arm} {c.randomised}/{c.with_scans}/{c.mitt}" for c in result.population.counts)
        out.append(f"Population (randomised / with scans / mITT): {arms}. Every table uses the mITT subjects.")
    if not result.hypotheses:
        return out if len(out) > 1 else []
    for h in result.hypotheses:
        if h.role == "primary":
            out.append(f"Primary endpoint: change from baseline in lesion % at {h.visit}, {result.treatment} - "
                       f"{result.control}, Wilcoxon p = {_p(h.p_value)} (full two-sided alpha).")
    for w in result.sensitivity:
        out.append(f"Sensitivity (worst rank, all {w.n_treatment + w.n_control} randomised; missing change ranked "
                   f"worst: {w.imputed_treatment} {w.treatment}, {w.imputed_control} {w.control}): Wilcoxon p = "
                   f"{_p(w.p_value)}, P({w.treatment} better) = {_num(w.win_probability, 3)}.")
    secondary = [h for h in result.hypotheses if h.role == "secondary"]
    if secondary:
        how = {"holm": "Holm-adjusted", "hierarchy": "fixed-sequence (hierarchical) adjusted",
               "none": "NOT adjusted for multiplicity"}[result.multiplicity]
        out.append(f"Secondary: {len(secondary)} test(s), p values {how} in endpoints.csv "
                   "(statistic *_p_adjusted); the table shows raw p.")
    return out
