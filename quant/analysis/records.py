"""Per-scan endpoint records and the long analysis dataset derived from them (no database types).

The database layer resolves one endpoint value per scan under the charter and hands it over as
:class:`EndpointRecord`; :func:`derive_long` makes the ADaM BDS-style long dataset (one
:class:`AnalysisRow` per subject x visit x parameter, with BASE, CHG, PCHG, ABLFL), and
:func:`missing_scan_rows` adds the planned visits a randomised subject has no scan for. Units:
lesion % and solid % are percent of whole-lung volume; CHG is in percentage points, PCHG in
percent of baseline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from quant.analysis.population import Population

__all__ = ["PARAMS", "CONTINUOUS_PARAMS", "EndpointRecord", "AnalysisRow", "derive_long", "missing_scan_rows"]

#: PARAMCD -> PARAM (ADaM parameter label, unit in brackets)
PARAMS: dict[str, str] = {
    "LESPCT": "Lesion volume, % of whole-lung volume (%)",
    "SOLPCT": "Solid lesion volume, % of whole-lung volume (%)",
    "NORMCT": "Normal CT, reader call (1 = yes, 0 = no)",
}
CONTINUOUS_PARAMS = ("LESPCT", "SOLPCT")


@dataclass(frozen=True)
class EndpointRecord:
    """One resolved endpoint value per scan (subject x visit).

    Attributes:
        subject: subject identifier as in the trial manifest.
        arm: randomised arm (e.g. "MSC", "Placebo"), or None while blinded.
        visit, visit_num, visit_day: visit name, its order number, and study day (None unknown).
        lesion_pct, solid_pct: % of whole-lung volume, None when missing.
        normal_ct: reader's normal-CT call, None when missing.
        source_read_ids: the read(s) the value came from (traceability).
        missing_reason: why the value is missing (e.g. "not evaluable: motion"), else None.
    """

    subject: str
    arm: str | None
    visit: str
    visit_num: float
    visit_day: int | None
    lesion_pct: float | None
    solid_pct: float | None
    normal_ct: bool | None
    source_read_ids: tuple[int, ...] = ()
    missing_reason: str | None = None


@dataclass(frozen=True)
class AnalysisRow:
    """One row of the long analysis dataset: subject x visit x parameter."""

    subject: str
    arm: str | None
    visit: str
    visit_num: float
    visit_day: int | None
    paramcd: str
    aval: float | None
    base: float | None
    chg: float | None
    pchg: float | None
    ablfl: bool
    anl01fl: bool
    source_read_ids: tuple[int, ...]
    missing_reason: str | None


def _value(rec: EndpointRecord, paramcd: str) -> float | None:
    v = {"LESPCT": rec.lesion_pct, "SOLPCT": rec.solid_pct, "NORMCT": rec.normal_ct}[paramcd]
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def derive_long(records: Iterable[EndpointRecord], baseline_visit_num: float | None = None) -> list[AnalysisRow]:
    """Long dataset (subject x visit x LESPCT|SOLPCT|NORMCT) with BASE, CHG, PCHG, ABLFL.

    The baseline visit is ``baseline_visit_num`` (default: the smallest visit number present).
    BASE is the subject's baseline AVAL; CHG = AVAL - BASE and PCHG = 100 CHG / BASE (None where
    BASE is 0 or missing). CHG/PCHG are 0 at baseline itself. NORMCT (1/0) gets no BASE/CHG.
    ANL01FL marks rows with a value (observed-case analysis).

    Raises:
        ValueError: two records for the same subject and visit.
    """
    recs = list(records)
    seen: set[tuple[str, float]] = set()
    for r in recs:
        key = (r.subject, float(r.visit_num))
        if key in seen:
            raise ValueError(f"two endpoint records for subject {r.subject!r} at visit {r.visit!r}")
        seen.add(key)
    if not recs:
        return []
    base_num = min(float(r.visit_num) for r in recs) if baseline_visit_num is None else float(baseline_visit_num)
    baseline = {r.subject: r for r in recs if float(r.visit_num) == base_num}
    rows: list[AnalysisRow] = []
    for r in sorted(recs, key=lambda r: (r.subject, float(r.visit_num))):
        is_base = float(r.visit_num) == base_num
        for paramcd in PARAMS:
            aval = _value(r, paramcd)
            base = chg = pchg = None
            if paramcd in CONTINUOUS_PARAMS and r.subject in baseline:
                base = _value(baseline[r.subject], paramcd)
                if base is not None and aval is not None:
                    chg = aval - base
                    pchg = 100.0 * chg / base if base != 0 else None
            rows.append(
                AnalysisRow(
                    subject=r.subject,
                    arm=r.arm,
                    visit=r.visit,
                    visit_num=float(r.visit_num),
                    visit_day=r.visit_day,
                    paramcd=paramcd,
                    aval=aval,
                    base=base,
                    chg=chg,
                    pchg=pchg,
                    ablfl=is_base and aval is not None,
                    anl01fl=aval is not None,
                    source_read_ids=tuple(r.source_read_ids),
                    missing_reason=r.missing_reason if aval is None else None,
                )
            )
    return rows


def missing_scan_rows(rows: Sequence[AnalysisRow], population: Population) -> list[AnalysisRow]:
    """A row per randomised subject x visit x parameter without a scan (reason ``missing scan``),
    so the analysis dataset keeps every planned subject-visit. The planned visits are those of
    the trial's scans."""
    visits = {(r.visit_num, r.visit): r.visit_day for r in rows}
    have = {(r.subject, r.visit, r.paramcd) for r in rows}
    out = []
    for s in population.subjects:
        if not s.randomised:
            continue
        for (vnum, visit), day in sorted(visits.items()):
            for paramcd in PARAMS:
                if (s.subject, visit, paramcd) not in have:
                    out.append(AnalysisRow(s.subject, s.arm, visit, vnum, day, paramcd, None, None, None, None,
                                           False, False, (), "missing scan"))
    return out
