"""The signed state of each row that an endpoint, a role or a signature depends on.

Every service that changes such a row records the row's state in its signed audit event
(``state=...`` of :func:`db.security.audit.append_event`, stored as a SHA-256 digest).
``audit verify --trust`` (:mod:`db.security.trust`) recomputes the state of every current row
with the same functions and compares it with the digest of the row's last signed event, so an
SQL edit of a read, a role, a scan's files, the charter, the lock or the unblinding is reported.

Entities (``AuditEvent.entity`` / ``entity_id``):

- ``user``: name, role, active, public key (not the password or the sign-in throttle);
- ``trial``: name and charter;
- ``scan``: subject code, visit name/day/date, series UID, folder, content hash, file list;
- ``read``: a read revision's task, scan, author, revision, status, signer and the hash of every
  signed field (:func:`db.security.read_hash.read_content_hash`);
- ``adjudication``: the decision (reads compared, status, choice, chosen read, time, meaning,
  rationale);
- ``lock``: the database lock; ``unblinding``: the unblinding and every arm it loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    AdjudicationTask,
    DatabaseLock,
    RandomisedSubject,
    Randomization,
    Read,
    Scan,
    Subject,
    Trial,
    Unblinding,
    User,
    Visit,
)
from db.security.audit import canonical_json
from db.security.read_hash import read_fields

__all__ = ["user_state", "trial_state", "scan_state", "read_state", "adjudication_state", "lock_state",
           "unblinding_state", "current_states", "STATE_ENTITIES"]

STATE_ENTITIES = ("user", "trial", "scan", "read", "adjudication", "lock", "unblinding")


def user_state(user: User) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "active": bool(user.active), "public_key": user.public_key}


def trial_state(trial: Trial) -> dict[str, Any]:
    return {"name": trial.name, "charter": trial.charter_json}


def scan_state(session: Session, scan: Scan) -> dict[str, Any]:
    visit = session.get(Visit, scan.visit_id)
    subject = session.get(Subject, visit.subject_id) if visit is not None else None
    state = {"subject": subject.code if subject else None, "visit": visit.name if visit else None,
             "visit_day": visit.visit_day if visit else None, "study_date": visit.study_date if visit else None,
             "series_uid": scan.series_uid, "folder": scan.folder, "content_hash": scan.content_hash,
             "files": scan.files_json}
    if scan.store_hash is not None:  # a scan imported before the image store signed the state above
        state.update(store_hash=scan.store_hash, store_files=scan.store_files, store_series_uid=scan.store_series_uid)
    return state


def read_state(read: Read) -> dict[str, Any]:
    return {"task_id": read.task_id, "scan_id": read.scan_id, "author_id": read.author_id,
            "revision": read.revision, "status": read.status, "signed_by": read.signed_by,
            "fields": canonical_json(read_fields(read))}


def adjudication_state(adj: AdjudicationTask) -> dict[str, Any]:
    return {"scan_id": adj.scan_id, "adjudicator_id": adj.adjudicator_id, "read_a": adj.read_a_id,
            "read_b": adj.read_b_id, "status": adj.status, "choice": adj.choice, "chosen_read": adj.chosen_read_id,
            "signed_at": adj.signed_at, "meaning": adj.sign_meaning, "rationale_reason": adj.rationale_reason,
            "rationale": adj.rationale}


def lock_state(lock: DatabaseLock) -> dict[str, Any]:
    return {"trial_id": lock.trial_id, "locked_by": lock.locked_by, "locked_at": lock.locked_at,
            "open_tasks": lock.open_tasks, "override_reason": lock.override_reason}


def unblinding_state(session: Session, unblinding: Unblinding) -> dict[str, Any]:
    arms = session.execute(select(Subject.code, Randomization.arm).join(Randomization, Randomization.subject_id
                                                                        == Subject.id).order_by(Subject.code)).all()
    listed = session.execute(select(RandomisedSubject.subject_code, RandomisedSubject.arm)
                             .where(RandomisedSubject.trial_id == unblinding.trial_id)
                             .order_by(RandomisedSubject.subject_code)).all()
    return {"trial_id": unblinding.trial_id, "by": unblinding.unblinded_by, "at": unblinding.unblinded_at,
            "file": unblinding.file_name, "file_sha256": unblinding.file_sha256, "n_subjects": unblinding.n_subjects,
            "arms": [list(r) for r in arms], "randomised": [list(r) for r in listed]}


def current_states(session: Session) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(entity, entity_id, state)`` of every current row that must match a signed state.

    Draft reads are not signed and are left out (their task's signed revisions are not).
    """
    for user in session.scalars(select(User).order_by(User.id)):
        yield "user", str(user.id), user_state(user)
    for trial in session.scalars(select(Trial).order_by(Trial.id)):
        yield "trial", str(trial.id), trial_state(trial)
    for scan in session.scalars(select(Scan).order_by(Scan.id)):
        yield "scan", str(scan.id), scan_state(session, scan)
    for read in session.scalars(select(Read).where(Read.status != "draft").order_by(Read.id)):
        yield "read", str(read.id), read_state(read)
    for adj in session.scalars(select(AdjudicationTask).where(AdjudicationTask.status != "open")
                               .order_by(AdjudicationTask.id)):
        yield "adjudication", str(adj.id), adjudication_state(adj)
    for lock in session.scalars(select(DatabaseLock)):
        yield "lock", str(lock.id), lock_state(lock)
    for unblinding in session.scalars(select(Unblinding)):
        yield "unblinding", str(unblinding.id), unblinding_state(session, unblinding)
