"""Append-only, hash-chained audit trail.

Each :class:`~db.models.AuditEvent` stores ``prev_hash`` (the hash of the event before it, or 64
zeros for the first) and ``hash = SHA-256(prev_hash + canonical JSON of the event's fields)``.
Appends are serialised (SQLite: the write transaction holds the database lock; PostgreSQL: a
transaction-scoped advisory lock), ids are consecutive, and ``prev_hash`` is unique, so the chain
cannot fork. Editing, inserting or deleting any row with plain SQL breaks the chain at that row.

An event done by a signed-in person is also **signed**: Ed25519 over the canonical JSON of the
previous hash and the event (who, what, when, old and new values, reason, the digest of the row
state it leaves, the signer's key fingerprint) with the actor's private key
(:mod:`db.security.keys`). Recomputing the chain after an edit cannot re-sign it; checking the
signatures back to the trial's root key is :mod:`db.security.trust` (``audit verify --trust``).

Deleting the *newest* events leaves a shorter chain that still verifies, so the head is anchored
outside the database: an :class:`AuditAnchor` (newest event id and hash) is written beside every
export (``audit_anchor.json``) and by ``lungread audit anchor``; ``lungread audit verify --anchor
FILE`` then also proves that no event the anchor saw has gone or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import DatabaseError
from db.models import AuditEvent
from db.records import Signer

__all__ = ["append_event", "verify_audit_trail", "AuditVerification", "AuditAnchor", "AuditAnchorError",
           "audit_anchor", "write_anchor", "read_anchor", "canonical_json", "utc_now", "GENESIS",
           "ANCHOR_FILE", "signed_message", "state_digest", "event_fields", "trust_root_of"]

ANCHOR_FILE = "audit_anchor.json"

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x4C756E67  # "Lung": advisory lock key serialising audit appends on PostgreSQL


def utc_now() -> str:
    """Current UTC time as ISO-8601 with microseconds and ``+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_fields(ev: AuditEvent) -> dict[str, Any]:
    fields: dict[str, Any] = {
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
    # Only when set, so events written before signing keys (revision 0005) hash as they did.
    if ev.state_sha256 is not None:
        fields["state"] = ev.state_sha256
    if ev.signer_key is not None:
        fields["signer_key"] = ev.signer_key
    return fields


def signed_message(prev_hash: str, ev: AuditEvent) -> bytes:
    """The bytes an event's signature covers: its previous hash and its fields (not the signature)."""
    return canonical_json({"prev_hash": prev_hash, "event": event_fields(ev)}).encode("utf-8")


def _chain_hash(prev_hash: str, ev: AuditEvent) -> str:
    fields = event_fields(ev)
    if ev.signature is not None:
        fields["signature"] = ev.signature
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a row state (db.security.signed_state)."""
    return hashlib.sha256(canonical_json(dict(state)).encode("utf-8")).hexdigest()


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
    signer: Signer | None = None,
    state: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (it commits or rolls back with it).

    ``signer``: the acting person's unwrapped key; the event is then signed. ``state``: the row
    state the event leaves (its digest is recorded and signed, for ``audit verify --trust``).
    """
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
        state_sha256=None if state is None else state_digest(state),
        signer_key=None if signer is None else signer.fingerprint,
    )
    if signer is not None:
        ev.signature = signer.sign(signed_message(prev_hash, ev))
    ev.hash = _chain_hash(prev_hash, ev)
    session.add(ev)
    session.flush()
    return ev


def trust_root_of(session: Session) -> str | None:
    """The trial's trust root: the key fingerprint that signed the first manager's (bootstrap)
    registration, or None before there is one (or in a database from before signing keys)."""
    return session.scalar(select(AuditEvent.signer_key).where(
        AuditEvent.entity == "user", AuditEvent.action == "create", AuditEvent.reason == "bootstrap")
        .order_by(AuditEvent.id).limit(1))


class AuditAnchorError(DatabaseError):
    """An audit anchor file is missing, unreadable or not an anchor."""


@dataclass(frozen=True)
class AuditAnchor:
    """The audit trail's newest event at one moment: its ``event_id``, chain ``hash`` and ``ts``
    (UTC ISO-8601), plus the database URL it was taken from (informative only) and the trial's
    trust-root fingerprint (what ``audit verify --trust`` takes)."""

    event_id: int
    hash: str
    ts: str
    database: str = ""
    trust_root: str = ""


def audit_anchor(db: Database) -> AuditAnchor:
    """The current head of the chain (event 0 and the genesis hash for an empty trail)."""

    def work(session: Session) -> AuditAnchor:
        last = session.execute(select(AuditEvent.id, AuditEvent.hash, AuditEvent.ts)
                               .order_by(AuditEvent.id.desc()).limit(1)).first()
        root = trust_root_of(session) or ""
        return (AuditAnchor(last[0], last[1], last[2], db.url, root) if last
                else AuditAnchor(0, GENESIS, utc_now(), db.url, root))

    return db.read(work)


def write_anchor(anchor: AuditAnchor, path: str | os.PathLike[str]) -> Path:
    """Write ``anchor`` as JSON to ``path`` (a folder gets ``audit_anchor.json``); returns the file."""
    path = Path(path)
    if path.is_dir():
        path = path / ANCHOR_FILE
    body = {"lungread_audit_anchor": 1, "event_id": anchor.event_id, "hash": anchor.hash, "ts": anchor.ts,
            "database": anchor.database, "trust_root": anchor.trust_root}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path


def read_anchor(path: str | os.PathLike[str]) -> AuditAnchor:
    """Read an anchor written by :func:`write_anchor` (a folder: its ``audit_anchor.json``).

    Raises:
        AuditAnchorError: the file is missing, not JSON, or not an audit anchor.
    """
    path = Path(path)
    if path.is_dir():
        path = path / ANCHOR_FILE
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuditAnchorError(f"cannot read audit anchor {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise AuditAnchorError(f"{path} is not an audit anchor (not JSON: {exc})") from exc
    ok = (isinstance(body, dict) and body.get("lungread_audit_anchor") == 1 and isinstance(body.get("event_id"), int)
          and isinstance(body.get("hash"), str) and len(body["hash"]) == 64)
    if not ok:
        raise AuditAnchorError(f"{path} is not a LungRead audit anchor (needs event_id and a 64-hex hash)")
    return AuditAnchor(body["event_id"], body["hash"], str(body.get("ts", "")), str(body.get("database", "")),
                       str(body.get("trust_root") or ""))


@dataclass(frozen=True)
class AuditVerification:
    """Result of :func:`verify_audit_trail`: ``ok``, events checked, first broken event id and why."""

    ok: bool
    n_events: int
    first_broken_id: int | None = None
    problem: str = ""
    anchor: AuditAnchor | None = None

    def describe(self) -> str:
        if self.ok:
            seen = f"; anchor event {self.anchor.event_id} ({self.anchor.ts}) present and unchanged" if self.anchor else ""
            return f"audit trail intact: {self.n_events} events, hash chain verified{seen}"
        return f"audit trail BROKEN at event {self.first_broken_id}: {self.problem}"


def verify_audit_trail(db: Database, anchor: AuditAnchor | None = None) -> AuditVerification:
    """Walk the chain in id order and report the first event whose link or hash does not verify.

    With ``anchor`` the chain must also still hold the anchored event with the anchored hash: a
    trail cut back to before the anchor (newest events deleted) is reported as broken.
    """

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
            if anchor is not None and ev.id == anchor.event_id and ev.hash != anchor.hash:
                return AuditVerification(False, n, ev.id, f"it differs from the anchor taken at {anchor.ts} "
                                         "(the trail was rewritten since)")
            prev_hash, expected_id = ev.hash, ev.id + 1
        if anchor is not None and anchor.event_id > n:
            return AuditVerification(
                False, n, n + 1,
                f"events {n + 1} to {anchor.event_id} are gone: the anchor taken at {anchor.ts} saw event "
                f"{anchor.event_id}, the trail now ends at event {n} (newest events deleted)")
        return AuditVerification(True, n, anchor=anchor)

    return db.read(work)
