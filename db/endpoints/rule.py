"""The endpoint rule: which value each scan contributes under the charter, traced to its read(s).

:func:`resolve` is the rule, once, on plain inputs. The per-scan view (:func:`endpoint_value`,
:func:`endpoint_table`) and the bulk analysis dataset (:mod:`db.endpoints.dataset`) only gather
those inputs and call it:

* a read task not signed yet -> ``pending``;
* an adjudication (not cancelled) -> ``pending`` until decided, then the chosen read (``adjudicated``);
* both reads not evaluable -> ``missing`` with the reasons;
* otherwise the charter's concordant rule: ``reader1`` (reader 1's read) or ``mean`` (the mean of
  the two reads; a value only when every read has a number);
* a chosen or reader-1 read that is not evaluable -> ``missing`` with its reason.

Percentages are percent of whole-lung volume.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.engine import Database
from db.errors import WorkflowError
from db.models import AdjudicationTask, Randomization, Read, ReadTask, Scan, Subject, Visit
from db.records import Actor, EndpointValue
from db.security.access import charter_of, current_trial, require_role, unblinding_of
from db.workflow.read_store import latest_read

__all__ = [
    "SignedRead",
    "Adjudication",
    "Resolution",
    "mean_of_reads",
    "resolve",
    "active_adjudication",
    "resolve_endpoint",
    "endpoint_value",
    "endpoint_table",
]


@dataclass(frozen=True)
class SignedRead:
    """What the rule reads of one signed read revision. ``metrics`` only where the caller wants
    them averaged too (the per-scan view); the bulk dataset leaves them out."""

    id: int
    lesion_pct: float | None
    solid_pct: float | None
    normal_ct: bool | None
    not_evaluable_reason: str | None
    metrics: Mapping[str, object] | None = None

    @classmethod
    def of(cls, row: Read, *, with_metrics: bool = False) -> SignedRead:
        return cls(row.id, row.lesion_pct, row.solid_pct, row.normal_ct, row.not_evaluable_reason,
                   json.loads(row.metrics_json) if with_metrics else None)


@dataclass(frozen=True)
class Adjudication:
    """A scan's adjudication as the rule needs it: ``chosen`` is None until it is decided."""

    status: str
    choice: str | None
    chosen: SignedRead | None


@dataclass(frozen=True)
class Resolution:
    """The endpoint of one scan. ``status``: ``pending`` | ``concordant`` | ``adjudicated`` |
    ``missing``; ``rule``: how it was reached (for ``pending``, what it waits for)."""

    status: str
    rule: str
    lesion_pct: float | None = None
    solid_pct: float | None = None
    normal_ct: bool | None = None
    source_read_ids: tuple[int, ...] = ()
    missing_reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mean_of_reads(values: Sequence[object]) -> float | None:
    """Mean of one quantity over the reads, or None unless every read has a number (yes/no and
    text are not numbers; a read without the value makes the mean missing, never a one-read mean)."""
    if not values or not all(_is_number(v) for v in values):
        return None
    return sum(float(v) for v in values) / len(values)  # type: ignore[arg-type]


def _from_read(read: SignedRead, status: str, rule: str) -> Resolution:
    if read.not_evaluable_reason is not None:
        return Resolution("missing", rule, source_read_ids=(read.id,),
                          missing_reason=f"not evaluable: {read.not_evaluable_reason}")
    # One read's metrics pass through as stored (the mean rule keeps only numbers).
    return Resolution(status, rule, read.lesion_pct, read.solid_pct, read.normal_ct, (read.id,),
                      metrics=dict(read.metrics or {}))  # type: ignore[arg-type]


def resolve(charter: Charter, reads: Sequence[SignedRead | None], adjudication: Adjudication | None) -> Resolution:
    """The endpoint of one scan (the rule in the module docstring).

    ``reads``: one entry per read task of the scan, in reader-slot order; None where the task is not
    signed. ``adjudication``: the scan's active (not cancelled) adjudication, if any.
    """
    if len(reads) < charter.readers_per_scan or any(r is None for r in reads):
        return Resolution("pending", "reads not all signed")
    signed = [r for r in reads if r is not None]
    if adjudication is not None:
        if adjudication.status != "decided" or adjudication.chosen is None:
            return Resolution("pending", "adjudication not decided")
        return _from_read(adjudication.chosen, "adjudicated", f"adjudicated ({adjudication.choice})")
    if all(r.not_evaluable_reason is not None for r in signed):
        reasons = "; ".join(sorted({r.not_evaluable_reason or "" for r in signed}))
        return Resolution("missing", "both reads not evaluable", source_read_ids=tuple(r.id for r in signed),
                          missing_reason=f"not evaluable: {reasons}")
    if charter.concordant_rule == "reader1":
        return _from_read(signed[0], "concordant", "reader1")
    metrics: dict[str, float] = {}
    if all(r.metrics is not None for r in signed):
        keys = set(signed[0].metrics or {}).intersection(*(r.metrics or {} for r in signed[1:]))
        for key in sorted(keys):
            value = mean_of_reads([(r.metrics or {})[key] for r in signed])
            if value is not None:
                metrics[key] = value
    calls = {r.normal_ct for r in signed if r.normal_ct is not None}
    return Resolution(
        "concordant", "mean", mean_of_reads([r.lesion_pct for r in signed]),
        mean_of_reads([r.solid_pct for r in signed]), calls.pop() if len(calls) == 1 else None,
        tuple(r.id for r in signed), metrics=metrics,
    )


def active_adjudication(s: Session, scan_id: int) -> AdjudicationTask | None:
    """The scan's adjudication that counts: the first one not cancelled."""
    return s.scalars(select(AdjudicationTask).where(AdjudicationTask.scan_id == scan_id,
                                                    AdjudicationTask.status != "cancelled")
                     .order_by(AdjudicationTask.id).limit(1)).first()


def resolve_endpoint(s: Session, scan_id: int) -> EndpointValue:
    """Resolve one scan (see :func:`endpoint_value`)."""
    scan = s.get(Scan, scan_id)
    if scan is None:
        raise WorkflowError(f"no scan {scan_id}")
    visit = s.get(Visit, scan.visit_id)
    subject = s.get(Subject, visit.subject_id) if visit else None
    assert visit is not None and subject is not None
    reads: list[SignedRead | None] = []
    for task in s.scalars(select(ReadTask).where(ReadTask.scan_id == scan.id).order_by(ReadTask.reader_slot)):
        row = latest_read(s, task.id, signed=True) if task.status == "signed" else None
        reads.append(SignedRead.of(row, with_metrics=True) if row is not None else None)
    adj = active_adjudication(s, scan.id)
    adjudication = None
    if adj is not None:
        chosen = s.get(Read, adj.chosen_read_id) if adj.chosen_read_id is not None else None
        adjudication = Adjudication(adj.status, adj.choice,
                                    SignedRead.of(chosen, with_metrics=True) if chosen is not None else None)
    res = resolve(charter_of(current_trial(s)), reads, adjudication)
    return EndpointValue(
        scan_id=scan.id, subject=subject.code, visit=visit.name, visit_day=visit.visit_day, status=res.status,
        rule=res.rule, lesion_pct=res.lesion_pct, solid_pct=res.solid_pct, normal_ct=res.normal_ct,
        source_read_ids=res.source_read_ids, missing_reason=res.missing_reason, metrics=res.metrics,
    )


def endpoint_value(db: Database, scan_id: int) -> EndpointValue:
    """The endpoint of a scan: concordant pair -> charter rule (mean, or reader 1); adjudicated ->
    the chosen read; not evaluable -> missing with the reason; unfinished -> pending.
    ``source_read_ids`` names the read(s) the value came from."""
    return db.read(lambda s: resolve_endpoint(s, scan_id))


def endpoint_table(db: Database, actor: Actor) -> list[EndpointValue]:
    """Manager or statistician: every scan's endpoint; with arms once the trial is unblinded."""

    def work(s: Session) -> list[EndpointValue]:
        require_role(s, actor, ("manager", "statistician"), "only a manager or statistician may see endpoint values")
        trial = current_trial(s)
        arms: dict[int, str] = {}
        if unblinding_of(s, trial) is not None:
            arms = dict(s.execute(select(Randomization.subject_id, Randomization.arm)).all())
        subj_of = dict(s.execute(select(Scan.id, Visit.subject_id).join(Visit, Scan.visit_id == Visit.id)).all())
        out = []
        for scan_id in s.scalars(select(Scan.id).order_by(Scan.id)):
            value = resolve_endpoint(s, scan_id)
            arm = arms.get(subj_of[scan_id])
            out.append(value if arm is None else EndpointValue(**{**value.__dict__, "arm": arm}))
        return out

    return db.read(work)
