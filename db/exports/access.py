"""Who may export what, and when (the rules live here, so the CLI and the GUI share them):

* ``reads.csv`` (:func:`db.exports.reads.export_reads`) and stored masks (:mod:`db.exports.masks`):
  a manager at any time, always *without* arms (the core lab stays blind); a statistician only once
  the locked database is unblinded, *with* arms. Before unblinding nobody but a manager may export
  reads.
* the endpoint analysis (:mod:`db.exports.analysis`) needs a locked database. Before unblinding a
  manager or a statistician gets the blinded analysis (no arm: tables pooled over arms, no
  between-arm statistics); once unblinded the analysis carries arms and only a statistician may run it.

Every export is recorded in the audit trail (who, what, where): :func:`audit_export`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import PermissionDenied, WorkflowError
from db.models import User
from db.records import Actor
from db.security.access import current_trial, lock_of, require_role, signing_key, unblinding_of
from db.security.audit import AuditAnchor, append_event, trust_root_of, write_anchor

__all__ = ["READS_RULE", "ANALYSIS_RULE", "reads_access", "analysis_access", "audit_export"]

READS_RULE = (
    "before unblinding only a manager may export reads (without arms); after the statistician has "
    "unblinded the locked database, a statistician may export them with arms"
)

ANALYSIS_RULE = (
    "the endpoint analysis needs a locked database; before unblinding a manager or statistician gets it "
    "blinded (no arms); once unblinded only a statistician may run it"
)


def reads_access(s: Session, actor: Actor) -> tuple[User, bool]:
    """Check the reads rule; returns the user and whether the export may carry arms."""
    user = require_role(s, actor, ("manager", "statistician"), f"only a manager or statistician may export reads: {READS_RULE}")
    unblinded = unblinding_of(s, current_trial(s)) is not None
    if user.role == "statistician" and not unblinded:
        raise PermissionDenied(f"the trial is not unblinded yet: {READS_RULE} (you are {user.username!r}, a statistician)")
    return user, user.role == "statistician" and unblinded


def analysis_access(s: Session, actor: Actor) -> tuple[User, bool]:
    """Check the analysis rule; returns the user and whether the analysis carries arms."""
    user = require_role(s, actor, ("manager", "statistician"), f"only a manager or statistician may run the endpoint analysis: {ANALYSIS_RULE}")
    trial = current_trial(s)
    if lock_of(s, trial) is None:
        raise WorkflowError(f"the database is not locked: {ANALYSIS_RULE}. A manager locks it once every read is signed")
    unblinded = unblinding_of(s, trial) is not None
    if unblinded and user.role != "statistician":
        raise PermissionDenied(
            f"the trial is unblinded, so the analysis carries arms: only a statistician may run it "
            f"(you are {user.username!r}, {user.role})"
        )
    return user, unblinded


def audit_export(db: Database, actor: Actor, what: str, out: Path, details: dict[str, object]) -> Path:
    """Append one ``export`` event (who exported what, where) in its own transaction, then anchor
    the audit trail at that event: ``audit_anchor.json`` in the export's folder (see
    :mod:`db.security.audit`). Returns the anchor file."""

    def work(s: Session) -> AuditAnchor:
        ev = append_event(s, user_id=actor.user_id, username=actor.username, action="export", entity=what,
                          entity_id=None, new={"path": str(out), **details}, signer=signing_key(actor))
        return AuditAnchor(ev.id, ev.hash, ev.ts, db.url, trust_root_of(s) or "")

    anchor = db.write(work)
    return write_anchor(anchor, out if out.is_dir() else out.parent)
