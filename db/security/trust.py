"""``audit verify --trust FINGERPRINT``: every signature back to the trial's root key, every key back
to the manager action that registered it, and every current row equal to its last signed state.

The trust root is the key of the first manager, created with the database's first account; its
fingerprint is printed then and written into every audit anchor, export and reading package, and
is kept *outside* the database (a person with write access to the database file could otherwise
replace everything with a history of their own). The walk:

1. the hash chain (:func:`db.security.audit.verify_audit_trail`, with an anchor when given);
2. the first manager's registration (the ``bootstrap`` event) is self-signed by the key with the
   given fingerprint;
3. in event order, every signed event verifies against a key registered *before* it, by its own
   holder (the event names the signer's account), and the signer held the role the action needs
   at that moment (roles replayed from the signed account events); a key is registered only by an
   account creation signed by a manager. Only failed sign-ins and the automatic opening of an
   adjudication may be unsigned (nobody is signed in to sign them). Events of reading packages,
   kept in ``package_event`` events, are checked against the same keys;
4. every current row of :mod:`db.security.signed_state` equals the digest of its last signed state,
   and every row with a signed state still exists in it.

Each problem names the table and row (or the event), so an SQL edit of a read, a role, a scan, the
lock or the unblinding, and a recomputed chain, are each reported; exit status 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import AuditEvent
from db.security.audit import (
    AuditAnchor,
    AuditVerification,
    canonical_json,
    signed_message,
    state_digest,
    verify_audit_trail,
)
from db.security.keys import fingerprint, verify_signature
from db.security.signed_state import current_states

__all__ = ["TrustProblem", "TrustReport", "verify_trust", "package_event_message", "TABLES"]

TABLES = {"user": "users", "trial": "trials", "scan": "scans", "read": "reads", "adjudication": "adjudication_tasks",
          "lock": "database_locks", "unblinding": "unblindings"}
# Event entity -> signed-state entity, where the event names the row differently.
_STATE_ENTITY = {"charter": "trial"}
# Nobody is signed in to sign these.
_UNSIGNED_OK = {("user", "login_failed"), ("adjudication", "create")}
# Who may sign what (roles at the moment of the event).
_AUTHORITY: dict[tuple[str, str], tuple[str, ...]] = {
    ("user", "create"): ("manager",), ("user", "update"): ("manager",), ("user", "unlock_account"): ("manager",),
    ("trial", "create"): ("manager",), ("charter", "update"): ("manager",), ("scan", "create"): ("manager",),
    ("lock", "lock"): ("manager",), ("unblinding", "unblind"): ("statistician",),
    ("read", "sign"): ("reader", "adjudicator"), ("read", "import_sign"): ("manager",),
    ("read", "reopen"): ("reader", "adjudicator", "manager"), ("adjudication", "sign"): ("adjudicator",),
    ("package", "export"): ("manager",), ("package", "import"): ("manager",),
    ("package", "package_event"): ("manager",),
}


@dataclass(frozen=True)
class TrustProblem:
    """One finding: the row (``table`` and ``row_id``) or the audit event it concerns, and why."""

    problem: str
    table: str = "audit_events"
    row_id: str | None = None
    event_id: int | None = None

    def describe(self) -> str:
        where = f"{self.table} row {self.row_id}" if self.row_id is not None else f"audit event {self.event_id}"
        seen = f" (audit event {self.event_id})" if self.row_id is not None and self.event_id is not None else ""
        return f"{where}: {self.problem}{seen}"


@dataclass(frozen=True)
class TrustReport:
    """Result of :func:`verify_trust`."""

    trust_root: str
    n_events: int
    n_signed: int
    n_rows: int
    chain: AuditVerification
    problems: tuple[TrustProblem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    def describe(self) -> str:
        if self.ok:
            return (f"trusted: {self.n_events} events ({self.n_signed} signed) verified back to root key "
                    f"{self.trust_root[:16]}..., {self.n_rows} rows equal their last signed state")
        lines = [f"NOT TRUSTED: {len(self.problems) + (not self.chain.ok)} problem(s) against root key "
                 f"{self.trust_root[:16]}..."]
        if not self.chain.ok:
            lines.append("  " + self.chain.describe())
        lines += ["  " + p.describe() for p in self.problems]
        return "\n".join(lines)


def package_event_message(data: dict[str, Any]) -> bytes:
    """The signed bytes of a reading package's event, as kept in a master ``package_event``."""
    event = {k: v for k, v in data.items() if k not in ("prev_hash", "hash", "signature")}
    return canonical_json({"prev_hash": data.get("prev_hash"), "event": event}).encode("utf-8")


@dataclass
class _Account:
    user_id: str
    role: str
    active: bool
    public_key: str


class _Walk:
    """Replays the signed history: registered keys and roles as of each event."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.keys: dict[str, _Account] = {}  # fingerprint -> account
        self.by_user: dict[str, _Account] = {}
        self.states: dict[tuple[str, str], tuple[int, str]] = {}
        self.problems: list[TrustProblem] = []
        self.n_signed = 0
        self.root_seen = False

    def fail(self, ev: AuditEvent, problem: str) -> None:
        self.problems.append(TrustProblem(f"{ev.action} {ev.entity} {ev.entity_id or ''}".rstrip() + f": {problem}",
                                          event_id=ev.id))

    def _register(self, user_id: str, role: str, active: bool, public_key: str) -> None:
        account = _Account(user_id, role, active, public_key)
        self.keys[fingerprint(public_key)] = account
        self.by_user[user_id] = account

    def event(self, ev: AuditEvent) -> None:
        if ev.signature is None:
            if (ev.entity, ev.action) not in _UNSIGNED_OK:
                self.fail(ev, "not signed (every action of a signed-in person is signed)")
            return
        self.n_signed += 1
        new = _json(ev.new_json)
        if ev.entity == "user" and ev.action == "create" and ev.reason == "bootstrap" and not self.root_seen:
            self.root_seen = True
            public = new.get("public_key") if isinstance(new, dict) else None
            if not isinstance(public, str) or fingerprint(public) != ev.signer_key:
                self.fail(ev, "the first manager's registration is not signed by the key it registers")
                return
            if ev.signer_key != self.root:
                self.fail(ev, f"the trust root of this database is {ev.signer_key}, not the fingerprint given")
                return
            if not verify_signature(public, signed_message(ev.prev_hash, ev), ev.signature):
                self.fail(ev, "the root signature does not verify (the event or the chain before it was rewritten)")
                return
            self._register(str(ev.entity_id), "manager", True, public)
            self._record_state(ev)
            return
        if ev.entity == "user" and ev.action == "register_key":
            self._self_registered(ev, new)
            return
        signer = self.keys.get(ev.signer_key or "")
        if signer is None:
            self.fail(ev, f"signed by key {str(ev.signer_key)[:16]}..., which no manager registered before this event")
            return
        if not verify_signature(signer.public_key, signed_message(ev.prev_hash, ev), ev.signature):
            self.fail(ev, "the signature does not verify (the event or the chain before it was rewritten)")
            return
        if ev.user_id is not None and str(ev.user_id) != signer.user_id:
            self.fail(ev, f"names account {ev.user_id} but is signed with the key of account {signer.user_id}")
            return
        allowed = _AUTHORITY.get((ev.entity, ev.action))
        if allowed is not None and (signer.role not in allowed or not signer.active):
            self.fail(ev, f"signed by a {signer.role}{'' if signer.active else ' (deactivated)'}; only "
                          f"{' or '.join(allowed)} may do this")
            return
        if ev.entity == "user":
            self._account_event(ev, new, signer)
        elif ev.entity == "package" and ev.action == "package_event":
            self._package_event(ev, new)
        self._record_state(ev)

    def _account_event(self, ev: AuditEvent, new: Any, signer: _Account) -> None:
        uid = str(ev.entity_id)
        if ev.action == "create" and isinstance(new, dict) and isinstance(new.get("public_key"), str):
            self._register(uid, str(new.get("role")), True, new["public_key"])
        elif ev.action == "update" and isinstance(new, dict) and uid in self.by_user:
            account = self.by_user[uid]
            account.role, account.active = str(new.get("role")), bool(new.get("active"))

    def _self_registered(self, ev: AuditEvent, new: Any) -> None:
        """An account from before signing keys got its key at its first sign-in: reported (no manager
        vouched for it), then registered so that its later signatures are still checked."""
        public = new.get("public_key") if isinstance(new, dict) else None
        self.fail(ev, "this key was registered by its own holder at sign-in (an account from before signing "
                      "keys), not by a manager")
        if isinstance(public, str) and verify_signature(public, signed_message(ev.prev_hash, ev), ev.signature or ""):
            self._register(str(ev.entity_id), str(new.get("role")), True, public)
            self._record_state(ev)

    def _package_event(self, ev: AuditEvent, new: Any) -> None:
        data = new.get("package_event") if isinstance(new, dict) else None
        if not isinstance(data, dict) or data.get("signature") is None:
            if isinstance(data, dict) and data.get("action") in ("login_failed", "unlock"):
                return  # nobody signed in; an unlock's code MAC was checked at import
            self.fail(ev, "a reading package event without a signature")
            return
        holder = self.keys.get(str(data.get("signer_key")))
        if holder is None or not verify_signature(holder.public_key, package_event_message(data), data["signature"]):
            self.fail(ev, f"reading package event {data.get('id')} ({data.get('action')}) is not signed by a "
                          "registered key")

    def _record_state(self, ev: AuditEvent) -> None:
        if ev.state_sha256 is not None and ev.entity_id is not None:
            self.states[(_STATE_ENTITY.get(ev.entity, ev.entity), ev.entity_id)] = (ev.id, ev.state_sha256)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def verify_trust(db: Database, trust_root: str, anchor: AuditAnchor | None = None) -> TrustReport:
    """Check the whole trail and the current rows against the root key fingerprint ``trust_root``."""
    trust_root = trust_root.strip().lower()
    chain = verify_audit_trail(db, anchor)

    def work(s: Session) -> TrustReport:
        walk = _Walk(trust_root)
        n = 0
        for ev in s.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(2000):
            n += 1
            walk.event(ev)
        if anchor is not None and anchor.trust_root and anchor.trust_root != trust_root:
            walk.problems.append(TrustProblem(f"the anchor file names trust root {anchor.trust_root[:16]}..., not the "
                                              "fingerprint given"))
        if not walk.root_seen:
            walk.problems.append(TrustProblem("no first-manager registration signed by a root key (a database from "
                                              "before signing keys, or its first events were removed)"))
        n_rows = 0
        seen: set[tuple[str, str]] = set()
        for entity, row_id, state in current_states(s):
            n_rows += 1
            seen.add((entity, row_id))
            last = walk.states.get((entity, row_id))
            if last is None:
                walk.problems.append(TrustProblem("has no signed state: it was written outside LungRead",
                                                  TABLES[entity], row_id))
            elif last[1] != state_digest(state):
                walk.problems.append(TrustProblem("differs from its last signed state (changed outside LungRead)",
                                                  TABLES[entity], row_id, last[0]))
        for (entity, row_id), (event_id, _digest) in sorted(walk.states.items()):
            if (entity, row_id) not in seen and entity in TABLES:
                walk.problems.append(TrustProblem("was signed but is gone from the table (or was set back to a draft)",
                                                  TABLES[entity], row_id, event_id))
        return TrustReport(trust_root, n, walk.n_signed, n_rows, chain, tuple(walk.problems))

    return db.read(work)
