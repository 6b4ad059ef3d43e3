"""The trial charter: the reading rules a trial fixes before any read is made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from db.errors import WorkflowError
from quant.analysis.multiplicity import MULTIPLICITY
from quant.analysis.population import DEFAULT_MITT_RULE, MITT_RULES

__all__ = ["Charter", "CONCORDANT_RULES", "visit_order"]

CONCORDANT_RULES = ("mean", "reader1")


@dataclass(frozen=True)
class Charter:
    """Reading rules of a trial.

    ``visits``: allowed visit names in schedule order (empty: any visit name is accepted).
    ``readers_per_scan``: independent reads per scan (2).
    ``adjudication_threshold_pct``: a pair is discordant when |Δ lesion %| (percentage points of
    whole-lung volume) is above this. ``adjudicate_normal_disagreement``: the readers' normal-CT
    calls differ. ``concordant_rule``: ``mean`` of the two reads, or ``reader1``.
    ``treatment_arm`` / ``control_arm``: which arm of the randomisation list is which (None: named
    at analysis time, or recognised by name; see :mod:`quant.analysis.arms`). Between-arm figures
    are treatment - control.
    ``primary_visit``: the visit of the primary endpoint, the change from baseline in whole-lung
    lesion % (None: the first visit after baseline). ``multiplicity``: adjustment of the secondary
    p values, ``holm``, ``hierarchy`` or ``none`` (:mod:`quant.analysis.multiplicity`).
    ``mitt_rule``: who is in the analysis population, a key of
    :data:`quant.analysis.population.MITT_RULES` (default: evaluable baseline and post-baseline).
    ``sequential_reading``: a reader of a follow-up scan sees the same subject's baseline scan
    read-only beside it, with their own signed baseline read's lesion mask (still under random
    case codes, no visit names); off by default (independent, fully blinded reads).
    """

    visits: tuple[str, ...] = ()
    readers_per_scan: int = 2
    adjudication_threshold_pct: float = 5.0
    adjudicate_normal_disagreement: bool = True
    concordant_rule: str = "mean"
    treatment_arm: str | None = None
    control_arm: str | None = None
    primary_visit: str | None = None
    multiplicity: str = "holm"
    mitt_rule: str = DEFAULT_MITT_RULE
    sequential_reading: bool = False

    def __post_init__(self) -> None:
        if self.readers_per_scan != 2:
            raise WorkflowError("the two-reader paradigm needs readers_per_scan = 2")
        if self.concordant_rule not in CONCORDANT_RULES:
            raise WorkflowError(f"concordant_rule must be one of {CONCORDANT_RULES}, not {self.concordant_rule!r}")
        if not self.adjudication_threshold_pct >= 0:
            raise WorkflowError("adjudication_threshold_pct must be >= 0 percentage points")
        for name in (self.treatment_arm, self.control_arm):
            if name is not None and not name.strip():
                raise WorkflowError("an arm name cannot be empty")
        if self.multiplicity not in MULTIPLICITY:
            raise WorkflowError(f"multiplicity must be one of {', '.join(MULTIPLICITY)}, not {self.multiplicity!r}")
        if self.mitt_rule not in MITT_RULES:
            raise WorkflowError(f"mitt_rule must be one of {', '.join(MITT_RULES)}, not {self.mitt_rule!r}")
        if self.primary_visit is not None and self.visits and self.primary_visit not in self.visits:
            raise WorkflowError(f"the primary visit {self.primary_visit!r} is not in the visit schedule")
        if self.treatment_arm is not None and self.treatment_arm == self.control_arm:
            raise WorkflowError(f"treatment and control cannot be the same arm ({self.treatment_arm!r})")

    def to_json(self) -> str:
        data = asdict(self)
        data["visits"] = list(self.visits)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Charter:
        data: dict[str, Any] = json.loads(text)
        data["visits"] = tuple(data.get("visits", ()))
        return cls(**data)


def visit_order(charter: Charter, visits: set[tuple[str, int | None]]) -> dict[str, tuple[float, int | None]]:
    """visit name -> (1-based visit number, nominal day). Charter schedule first, then by day, name.

    A visit name seen with different days in different subjects keeps its smallest day for sorting.
    """
    day_of: dict[str, int | None] = {}
    for name, day in visits:
        old = day_of.get(name)
        if name not in day_of or (day is not None and (old is None or day < old)):
            day_of[name] = day
    schedule = {name: i for i, name in enumerate(charter.visits)}
    big = 10**9
    ordered = sorted(
        day_of,
        key=lambda n: (schedule.get(n, len(schedule)), day_of[n] if day_of[n] is not None else big, n),
    )
    return {name: (float(i + 1), day_of[name]) for i, name in enumerate(ordered)}
