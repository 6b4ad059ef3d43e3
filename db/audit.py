"""Append-only, hash-chained audit trail.

Each :class:`~db.models.AuditEvent` stores ``prev_hash`` (the hash of the event before it, or 64
zeros for the first) and ``hash = SHA-256(prev_hash + canonical JSON of the event's fields)``.
Appends are serialised (SQLite: the write transaction holds the database lock; PostgreSQL: a
transaction-scoped advisory lock), ids are consecutive, and ``prev_hash`` is unique, so the chain
cannot fork. Editing, inserting or deleting any row with plain SQL breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .engine import Database
from .models import AuditEvent

__all__ = ["append_event", "verify_audit_trail", "AuditVerification", "canonical_json", "utc_now", "GENESIS"]

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x4C756E67  # "Lung": advisory lock key serialising audit appends on PostgreSQL


def utc_now() -> str:
    """Current UTC time as ISO-8601 with microseconds and ``+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _event_payload(ev: AuditEvent) -> str:
    return canonical_json(
        {
            "id": ev.id,
            "ts": ev.ts,
            "user_id": ev.user_id,
            "username": ev.username,
            "action": ev.action,
            "entity": ev.entity,
            "entity_id": ev.entity_id,
            "old": ev.old_json,
            "new": ev.new_json,
            "reason": ev.reason,
        }
    )


def _chain_hash(prev_hash: str, ev: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + _event_payload(ev)).encode("utf-8")).hexdigest()


def append_event(
    session: Session,
    *,
    user_id: int | None,
    username: str | None,
    action: str,
    entity: str,
    entity_id: object = None,
    old: Any = None,
    new: Any = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (it commits or rolls back with it)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev_id, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    ev = AuditEvent(
        id=prev_id + 1,
        ts=utc_now(),
        user_id=user_id,
        username=username,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        old_json=canonical_json(old),
        new_json=canonical_json(new),
        reason=reason,
        prev_hash=prev_hash,
    )
    ev.hash = _chain_hash(prev_hash, ev)
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class AuditVerification:
    """Result of :func:`verify_audit_trail`: ``ok``, events checked, first broken event id and why."""

    ok: bool
    n_events: int
    first_broken_id: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.n_events} events, hash chain verified"
        return f"audit trail BROKEN at event {self.first_broken_id}: {self.problem}"


def verify_audit_trail(db: Database) -> AuditVerification:
    """Walk the chain in id order and report the first event whose link or hash does not verify."""

    def work(session: Session) -> AuditVerification:
        prev_hash, expected_id, n = GENESIS, 1, 0
        for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(2000):
            n += 1
            if ev.id != expected_id:
                return AuditVerification(False, n, ev.id, f"event {expected_id} is missing (ids jump to {ev.id})")
            if ev.prev_hash != prev_hash:
                return AuditVerification(False, n, ev.id, "its previous-hash link does not match the event before it")
            if _chain_hash(prev_hash, ev) != ev.hash:
                return AuditVerification(False, n, ev.id, "its content does not match its hash (the row was altered)")
            prev_hash, expected_id = ev.hash, ev.id + 1
        return AuditVerification(True, n)

    return db.read(work)
