"""Database lock (manager) and unblinding (statistician, only after the lock)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import ManifestError, WorkflowError
from db.models import (
    AdjudicationTask,
    DatabaseLock,
    RandomisedSubject,
    Randomization,
    ReadTask,
    Subject,
    Unblinding,
    User,
)
from db.records import Actor, LockView, UnblindReport
from db.security.access import current_trial, lock_of, require_role, signing_key, unblinding_of
from db.security.audit import append_event, utc_now
from db.security.signed_state import lock_state, unblinding_state
from db.security.text_rules import MAX_REASON, check_text

__all__ = ["lock_database", "unblind", "lock_status", "open_work"]


def open_work(s: Session) -> int:
    """Reading tasks not signed plus adjudications not decided."""
    tasks = s.scalar(select(func.count(ReadTask.id)).where(ReadTask.status != "signed")) or 0
    adjs = s.scalar(select(func.count(AdjudicationTask.id)).where(AdjudicationTask.status == "open")) or 0
    return int(tasks + adjs)


def _lock_view(s: Session, lock: DatabaseLock) -> LockView:
    user = s.get(User, lock.locked_by)
    return LockView(user.username if user else "?", lock.locked_at, lock.open_tasks, lock.override_reason)


def lock_database(db: Database, actor: Actor, override_reason: str | None = None) -> LockView:
    """Manager: lock the trial database. Needs every task done, or ``override_reason``. Irreversible."""

    def work(s: Session) -> LockView:
        manager = require_role(s, actor, ("manager",), "only a manager may lock the database, once every read is signed")
        trial = current_trial(s)
        if lock_of(s, trial) is not None:
            raise WorkflowError("the database is already locked")
        n_open = open_work(s)
        reason = check_text(override_reason, "the override reason", MAX_REASON) or None
        if n_open and reason is None:
            raise WorkflowError(
                f"{n_open} reading or adjudication task(s) are not done; a manager may lock only when every "
                "task is done, or with an override reason (--override-reason)"
            )
        lock = DatabaseLock(trial_id=trial.id, locked_by=manager.id, locked_at=utc_now(), open_tasks=n_open,
                            override_reason=reason)
        s.add(lock)
        s.flush()
        append_event(s, user_id=manager.id, username=manager.username, action="lock", entity="lock",
                     entity_id=lock.id, old={"locked": False},
                     new={"locked": True, "trial_id": trial.id, "open_tasks": n_open},
                     reason=reason, signer=signing_key(actor), state=lock_state(lock))
        return _lock_view(s, lock)

    return db.write(work)


def lock_status(db: Database) -> LockView | None:
    def work(s: Session) -> LockView | None:
        lock = s.scalars(select(DatabaseLock).limit(1)).first()
        return _lock_view(s, lock) if lock is not None else None

    return db.read(work)


def _read_randomization(path: Path) -> tuple[list[tuple[str, str]], str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ManifestError(f"randomization list not found: {path}") from exc
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    cols = [c.strip() for c in (reader.fieldnames or [])]
    if "subject" not in cols or "arm" not in cols:
        raise ManifestError(f"{path}: a randomization list needs the columns subject,arm")
    rows, problems, seen = [], [], set()
    for i, rec in enumerate(reader, start=1):
        rec = {(k or "").strip(): (v or "").strip() for k, v in rec.items()}
        if not rec.get("subject") or not rec.get("arm"):
            problems.append(f"row {i}: subject and arm must be filled in")
        elif rec["subject"] in seen:
            problems.append(f"row {i}: subject {rec['subject']} is listed twice")
        else:
            seen.add(rec["subject"])
            rows.append((rec["subject"], rec["arm"]))
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems))
    return rows, hashlib.sha256(data).hexdigest()


def unblind(db: Database, actor: Actor, randomization_csv: str | Path) -> UnblindReport:
    """Statistician: load the arm list (``subject,arm``). Only after the lock; once; audited.

    Every imaged subject must have an arm. The whole list is stored (listed subjects without scans
    too: they are randomised, part of the analysis population) and the ones without scans reported.
    """
    path = Path(randomization_csv)
    _rule = "only a statistician may unblind, and only after a manager has locked the database"

    def precheck(s: Session) -> None:
        require_role(s, actor, ("statistician",), _rule)
        trial = current_trial(s)
        if lock_of(s, trial) is None:
            raise WorkflowError(f"the database is not locked yet: {_rule}")

    db.read(precheck)
    rows, digest = _read_randomization(path)

    def work(s: Session) -> UnblindReport:
        user = require_role(s, actor, ("statistician",), _rule)
        trial = current_trial(s)
        if lock_of(s, trial) is None:
            raise WorkflowError(f"the database is not locked yet: {_rule}")
        if unblinding_of(s, trial) is not None:
            raise WorkflowError("this trial is already unblinded")
        subjects = {sub.code: sub for sub in s.scalars(select(Subject).where(Subject.trial_id == trial.id))}
        listed = dict(rows)
        missing = sorted(code for code in subjects if code not in listed)
        if missing:
            raise WorkflowError(f"the randomization list has no arm for subject(s) {', '.join(missing)}")
        unknown = tuple(sorted(code for code in listed if code not in subjects))
        for code, sub in subjects.items():
            s.add(Randomization(subject_id=sub.id, arm=listed[code]))
        for code, arm in listed.items():
            s.add(RandomisedSubject(trial_id=trial.id, subject_code=code, arm=arm))
        record = Unblinding(trial_id=trial.id, unblinded_by=user.id, unblinded_at=utc_now(), file_name=path.name,
                            file_sha256=digest, n_subjects=len(subjects))
        s.add(record)
        s.flush()
        arms = Counter(listed[code] for code in subjects)
        append_event(s, user_id=user.id, username=user.username, action="unblind", entity="unblinding",
                     entity_id=record.id, old={"unblinded": False},
                     new={"unblinded": True, "trial_id": trial.id, "file": path.name, "sha256": digest,
                          "n_subjects": len(subjects), "arms": dict(arms), "unknown_subjects": list(unknown)},
                     signer=signing_key(actor), state=unblinding_state(s, record))
        return UnblindReport(n_subjects=len(subjects), arms=dict(arms), unknown_subjects=unknown)

    return db.write(work)
