"""The trial charter: the reading rules a trial fixes before any read is made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from db.errors import WorkflowError

__all__ = ["Charter", "CONCORDANT_RULES"]

CONCORDANT_RULES = ("mean", "reader1")


@dataclass(frozen=True)
class Charter:
    """Reading rules of a trial.

    ``visits``: allowed visit names in schedule order (empty: any visit name is accepted).
    ``readers_per_scan``: independent reads per scan (2).
    ``adjudication_threshold_pct``: a pair is discordant when |Δ lesion %| (percentage points of
    whole-lung volume) is above this. ``adjudicate_normal_disagreement``: the readers' normal-CT
    calls differ. ``concordant_rule``: ``mean`` of the two reads, or ``reader1``.
    """

    visits: tuple[str, ...] = ()
    readers_per_scan: int = 2
    adjudication_threshold_pct: float = 5.0
    adjudicate_normal_disagreement: bool = True
    concordant_rule: str = "mean"

    def __post_init__(self) -> None:
        if self.readers_per_scan != 2:
            raise WorkflowError("the two-reader paradigm needs readers_per_scan = 2")
        if self.concordant_rule not in CONCORDANT_RULES:
            raise WorkflowError(f"concordant_rule must be one of {CONCORDANT_RULES}, not {self.concordant_rule!r}")
        if not self.adjudication_threshold_pct >= 0:
            raise WorkflowError("adjudication_threshold_pct must be >= 0 percentage points")

    def to_json(self) -> str:
        data = asdict(self)
        data["visits"] = list(self.visits)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Charter:
        data: dict[str, Any] = json.loads(text)
        data["visits"] = tuple(data.get("visits", ()))
        return cls(**data)
