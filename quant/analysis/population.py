"""The analysis population: every randomised subject, with or without scans, and who is in the
mITT population (CDISC ADaM ADSL style).

mITT (the charter's default rule): randomised, with an evaluable baseline (a lesion % value at the
baseline visit, the first visit of the trial) and at least one evaluable lesion % value after
it. Every analysis table uses the mITT subjects only; the CONSORT-style counts say how many were
randomised, had scans, had a value at each visit, and are in mITT, per arm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ScanValue", "SubjectRow", "PopulationCount", "Population", "analysis_population"]


class ScanValue(Protocol):
    """What the population needs of one scan's endpoint record."""

    subject: str
    visit: str
    visit_num: float
    lesion_pct: float | None


@dataclass(frozen=True)
class SubjectRow:
    """One ADSL row. ``scans``: scans with an endpoint record; ``evaluable``: visits with a lesion %."""

    subject: str
    arm: str | None
    randomised: bool
    mitt: bool
    scans: int
    evaluable: int
    baseline_evaluable: bool


@dataclass(frozen=True)
class PopulationCount:
    """CONSORT-style counts of one arm. ``evaluable``: visit -> subjects with a lesion % there."""

    arm: str
    randomised: int
    with_scans: int
    evaluable: dict[str, int]
    mitt: int


@dataclass(frozen=True)
class Population:
    """``missing``: (arm, visit number, visit, kind) -> lesion % values missing there, kind being
    ``not evaluable``, ``pending`` or ``missing scan`` (filled in by the analysis)."""

    subjects: list[SubjectRow] = field(default_factory=list)
    counts: list[PopulationCount] = field(default_factory=list)
    missing: dict[tuple[str, float, str, str], int] = field(default_factory=dict)

    @property
    def mitt(self) -> set[str]:
        return {s.subject for s in self.subjects if s.mitt}


def analysis_population(records: Iterable[ScanValue], randomised: Sequence[tuple[str, str]]) -> Population:
    """ADSL rows and counts from the scans' records and the randomisation list ((subject, arm) per
    line, every randomised subject, imaged or not). Subjects with scans but no line are listed with
    no arm and are not randomised (so never in mITT)."""
    records = list(records)
    base_num = min((float(r.visit_num) for r in records), default=None)
    arm_of = dict(randomised)
    by_subject: dict[str, list[ScanValue]] = {}
    for r in records:
        by_subject.setdefault(r.subject, []).append(r)
    rows = []
    for subject in sorted(set(arm_of) | set(by_subject)):
        scans = by_subject.get(subject, [])
        values = [r for r in scans if r.lesion_pct is not None]
        base_ok = any(float(r.visit_num) == base_num for r in values)
        post_ok = any(base_num is not None and float(r.visit_num) > base_num for r in values)
        rows.append(SubjectRow(subject, arm_of.get(subject), subject in arm_of, subject in arm_of and base_ok and post_ok,
                               len(scans), len(values), base_ok))
    visits = sorted({(float(r.visit_num), r.visit) for r in records})
    counts = []
    for arm in sorted(set(arm_of.values())):
        members = [s for s in rows if s.arm == arm]
        names = {s.subject for s in members}
        evaluable = {visit: len({r.subject for r in records if r.visit == visit and r.subject in names
                                 and r.lesion_pct is not None}) for _, visit in visits}
        counts.append(PopulationCount(arm, len(members), sum(1 for s in members if s.scans), evaluable,
                                      sum(1 for s in members if s.mitt)))
    return Population(rows, counts)
