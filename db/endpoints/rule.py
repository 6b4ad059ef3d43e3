"""Endpoint value of each scan under the charter, traced to its source read(s)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import WorkflowError
from db.models import AdjudicationTask, Randomization, Read, ReadTask, Scan, Subject, Visit
from db.records import Actor, EndpointValue
from db.security.access import charter_of, current_trial, require_role, unblinding_of

__all__ = ["endpoint_value", "endpoint_table", "resolve_endpoint"]


def _mean(values: list[Any]) -> float | None:
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(nums) / len(nums) if len(nums) == len(values) and nums else None


def resolve_endpoint(s: Session, scan_id: int) -> EndpointValue:
    """Resolve one scan (see :func:`endpoint_value`)."""
    scan = s.get(Scan, scan_id)
    if scan is None:
        raise WorkflowError(f"no scan {scan_id}")
    visit = s.get(Visit, scan.visit_id)
    subject = s.get(Subject, visit.subject_id) if visit else None
    assert visit is not None and subject is not None
    charter = charter_of(current_trial(s))
    base = {"scan_id": scan.id, "subject": subject.code, "visit": visit.name, "visit_day": visit.visit_day}

    def pending(why: str) -> EndpointValue:
        return EndpointValue(**base, status="pending", rule=why, lesion_pct=None, solid_pct=None, normal_ct=None,
                             source_read_ids=())

    def from_read(row: Read, status: str, rule: str) -> EndpointValue:
        if row.not_evaluable_reason is not None:
            return EndpointValue(**base, status="missing", rule=rule, lesion_pct=None, solid_pct=None,
                                 normal_ct=None, source_read_ids=(row.id,),
                                 missing_reason=f"not evaluable: {row.not_evaluable_reason}")
        return EndpointValue(**base, status=status, rule=rule, lesion_pct=row.lesion_pct, solid_pct=row.solid_pct,
                             normal_ct=row.normal_ct, source_read_ids=(row.id,), metrics=json.loads(row.metrics_json))

    tasks = list(s.scalars(select(ReadTask).where(ReadTask.scan_id == scan.id).order_by(ReadTask.reader_slot)))
    if len(tasks) < charter.readers_per_scan or any(t.status != "signed" for t in tasks):
        return pending("reads not all signed")
    adj = s.scalars(select(AdjudicationTask).where(AdjudicationTask.scan_id == scan.id,
                                                   AdjudicationTask.status != "cancelled")).first()
    if adj is not None:
        if adj.status != "decided" or adj.chosen_read_id is None:
            return pending("adjudication not decided")
        chosen = s.get(Read, adj.chosen_read_id)
        assert chosen is not None
        return from_read(chosen, "adjudicated", f"adjudicated ({adj.choice})")
    reads = []
    for t in tasks:
        row = s.scalars(select(Read).where(Read.task_id == t.id, Read.status == "signed")
                        .order_by(Read.revision.desc()).limit(1)).first()
        assert row is not None
        reads.append(row)
    if all(r.not_evaluable_reason is not None for r in reads):
        reasons = "; ".join(sorted({r.not_evaluable_reason or "" for r in reads}))
        return EndpointValue(**base, status="missing", rule="both reads not evaluable", lesion_pct=None,
                             solid_pct=None, normal_ct=None, source_read_ids=tuple(r.id for r in reads),
                             missing_reason=f"not evaluable: {reasons}")
    if charter.concordant_rule == "reader1":
        return from_read(reads[0], "concordant", "reader1")
    metrics_list = [json.loads(r.metrics_json) for r in reads]
    keys = set(metrics_list[0]).intersection(*metrics_list[1:])
    metrics = {k: m for k in sorted(keys) if (m := _mean([ml[k] for ml in metrics_list])) is not None}
    calls = {r.normal_ct for r in reads if r.normal_ct is not None}
    return EndpointValue(**base, status="concordant", rule="mean", lesion_pct=_mean([r.lesion_pct for r in reads]),
                         solid_pct=_mean([r.solid_pct for r in reads]),
                         normal_ct=calls.pop() if len(calls) == 1 else None,
                         source_read_ids=tuple(r.id for r in reads), metrics=metrics)


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
