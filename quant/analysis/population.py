"""The analysis population: every randomised subject, with or without scans, and who is in the
mITT population (CDISC ADaM ADSL style).

mITT is defined by the charter's rule (:data:`MITT_RULES`); the default: randomised, with an
evaluable baseline (a lesion % value at the baseline visit, the first visit of the trial) and at
least one evaluable lesion % value after it. Every analysis table uses the mITT subjects only; the
CONSORT-style counts say how many were randomised, had scans, had a value at each visit, and are
in mITT, per arm.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["MITT_RULES", "DEFAULT_MITT_RULE", "ScanValue", "SubjectRow", "PopulationCount", "Population",
           "analysis_population"]

#: rule name -> what it means (the report's cover and the ADSL dictionary quote it)
MITT_RULES: dict[str, str] = {
    "baseline_and_post": "randomised, with an evaluable baseline lesion % and at least one evaluable "
                         "post-baseline lesion %",
    "baseline": "randomised, with an evaluable baseline lesion %",
    "randomised": "every randomised subject (intention to treat)",
}
DEFAULT_MITT_RULE = "baseline_and_post"


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
    mitt_rule: str = DEFAULT_MITT_RULE

    @property
    def mitt(self) -> set[str]:
        return {s.subject for s in self.subjects if s.mitt}


def _in_mitt(rule: str, randomised: bool, base_ok: bool, post_ok: bool) -> bool:
    if rule == "randomised":
        return randomised
    if rule == "baseline":
        return randomised and base_ok
    return randomised and base_ok and post_ok


def analysis_population(records: Iterable[ScanValue], randomised: Sequence[tuple[str, str]],
                        mitt_rule: str = DEFAULT_MITT_RULE) -> Population:
    """ADSL rows and counts from the scans' records and the randomisation list ((subject, arm) per
    line, every randomised subject, imaged or not). Subjects with scans but no line are listed with
    no arm and are not randomised (so never in mITT). ``mitt_rule``: a key of :data:`MITT_RULES`.

    Raises:
        ValueError: an unknown ``mitt_rule``.
    """
    if mitt_rule not in MITT_RULES:
        raise ValueError(f"unknown mITT rule {mitt_rule!r}; known: {', '.join(MITT_RULES)}")
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
        rows.append(SubjectRow(subject, arm_of.get(subject), subject in arm_of,
                               _in_mitt(mitt_rule, subject in arm_of, base_ok, post_ok), len(scans), len(values),
                               base_ok))
    visits = sorted({(float(r.visit_num), r.visit) for r in records})
    counts = []
    for arm in sorted(set(arm_of.values())):
        members = [s for s in rows if s.arm == arm]
        names = {s.subject for s in members}
        evaluable = {visit: len({r.subject for r in records if r.visit == visit and r.subject in names
                                 and r.lesion_pct is not None}) for _, visit in visits}
        counts.append(PopulationCount(arm, len(members), sum(1 for s in members if s.scans), evaluable,
                                      sum(1 for s in members if s.mitt)))
    return Population(rows, counts, mitt_rule=mitt_rule)
