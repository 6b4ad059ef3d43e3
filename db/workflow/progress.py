"""Manager dashboard: counts of tasks and adjudications by state and reader."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import AdjudicationTask, ReadTask, Scan, User
from db.records import Actor, ProgressView
from db.security.access import current_trial, lock_of, require_role, unblinding_of

__all__ = ["progress_dashboard"]


def progress_dashboard(db: Database, actor: Actor) -> ProgressView:
    def work(s: Session) -> ProgressView:
        require_role(s, actor, ("manager",), "only a manager may see reading progress")
        trial = current_trial(s)
        names = dict(s.execute(select(User.id, User.username)).all())
        by_status: Counter[str] = Counter()
        by_reader: dict[str, Counter[str]] = defaultdict(Counter)
        for reader_id, status, n in s.execute(
            select(ReadTask.reader_id, ReadTask.status, func.count(ReadTask.id)).group_by(ReadTask.reader_id, ReadTask.status)
        ):
            by_status[status] += n
            by_reader[names.get(reader_id, "?")][status] += n
        adj = Counter(dict(s.execute(select(AdjudicationTask.status, func.count(AdjudicationTask.id))
                                     .group_by(AdjudicationTask.status)).all()))
        adjudication_by_reader = _adjudication_by_reader(s, names)
        unassigned = s.scalar(select(func.count(AdjudicationTask.id)).where(
            AdjudicationTask.status == "open", AdjudicationTask.adjudicator_id.is_(None))) or 0
        return ProgressView(
            n_scans=s.scalar(select(func.count(Scan.id))) or 0, tasks_by_status=dict(by_status),
            tasks_by_reader={k: dict(v) for k, v in by_reader.items()}, adjudications_by_status=dict(adj),
            unassigned_adjudications=int(unassigned), locked=lock_of(s, trial) is not None,
            unblinded=unblinding_of(s, trial) is not None, adjudication_by_reader=adjudication_by_reader,
        )

    return db.read(work)


def _adjudication_by_reader(s: Session, names: dict[int, str]) -> dict[str, tuple[int, int]]:
    """Per reader: of their scans whose two reads are both signed, how many went to adjudication
    (cancelled adjudications, e.g. after a reopen, do not count)."""
    signed: dict[int, list[int]] = defaultdict(list)
    for scan_id, reader_id in s.execute(select(ReadTask.scan_id, ReadTask.reader_id).where(ReadTask.status == "signed")):
        signed[scan_id].append(reader_id)
    adjudicated = set(s.scalars(select(AdjudicationTask.scan_id).where(AdjudicationTask.status != "cancelled")))
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for scan_id, readers in signed.items():
        if len(readers) < 2:
            continue
        for reader_id in readers:
            entry = out[names.get(reader_id, "?")]
            entry[1] += 1
            entry[0] += scan_id in adjudicated
    return {k: (v[0], v[1]) for k, v in out.items()}
