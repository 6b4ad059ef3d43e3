"""Manager dashboard: counts of tasks and adjudications by state and reader."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .access import current_trial, lock_of, require_role, unblinding_of
from .engine import Database
from .models import AdjudicationTask, ReadTask, Scan, User
from .views import Actor, ProgressView

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
        unassigned = s.scalar(select(func.count(AdjudicationTask.id)).where(
            AdjudicationTask.status == "open", AdjudicationTask.adjudicator_id.is_(None))) or 0
        return ProgressView(
            n_scans=s.scalar(select(func.count(Scan.id))) or 0, tasks_by_status=dict(by_status),
            tasks_by_reader={k: dict(v) for k, v in by_reader.items()}, adjudications_by_status=dict(adj),
            unassigned_adjudications=int(unassigned), locked=lock_of(s, trial) is not None,
            unblinded=unblinding_of(s, trial) is not None,
        )

    return db.read(work)
