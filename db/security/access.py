"""Identity, role and state checks shared by every service (the rules live here, not in the UI)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.errors import AuthenticationError, PermissionDenied, WorkflowError
from db.models import AuditEvent, DatabaseLock, Trial, Unblinding, User
from db.records import Actor, Signer
from db.security.audit import signed_message, state_digest
from db.security.keys import fingerprint, verify_signature
from db.security.signed_state import user_state

__all__ = ["require_role", "signing_key", "current_trial", "charter_of", "lock_of", "refuse_if_locked", "ROLE_WHO"]

ROLE_WHO = {
    "reader": "a reader",
    "adjudicator": "an adjudicator",
    "manager": "a manager",
    "statistician": "a statistician",
}


def require_role(session: Session, actor: Actor, roles: tuple[str, ...], rule: str) -> User:
    """The caller's User row, checked against the database (not the Actor object's claimed role).

    ``rule``: the sentence saying who may do this and when, shown when the role does not fit.
    """
    user = session.get(User, actor.user_id)
    if user is None or user.username != actor.username or not user.active:
        raise AuthenticationError(f"user {actor.username!r} is not an active account; sign in again")
    _refuse_unsigned_account(session, user)
    if user.role not in roles:
        raise PermissionDenied(f"{rule} (you are {user.username!r}, {ROLE_WHO.get(user.role, user.role)})")
    return user


def _refuse_unsigned_account(session: Session, user: User) -> None:
    """The account row must equal its last signed state (a role or key set with SQL is refused).

    One level only (the state's event carries a valid signature by a key of this database); the
    whole chain back to the trust root is ``audit verify --trust`` (db.security.trust).
    """
    last = session.execute(select(AuditEvent).where(AuditEvent.entity == "user", AuditEvent.entity_id == str(user.id),
                                                    AuditEvent.state_sha256.is_not(None))
                           .order_by(AuditEvent.id.desc()).limit(1)).scalar()
    ok = last is not None and last.signature is not None and last.state_sha256 == state_digest(user_state(user))
    if ok:
        # The signer is found by key fingerprint (a reading package holds only its reader, not the
        # manager who registered them: there the signature is checked at import instead).
        signer = next((u for u in session.scalars(select(User).where(User.public_key.is_not(None)))
                       if fingerprint(u.public_key) == last.signer_key), None)
        ok = signer is None or verify_signature(signer.public_key, signed_message(last.prev_hash, last), last.signature)
    if not ok:
        raise AuthenticationError(
            f"account {user.username!r} differs from its last signed state (its role, status or key was changed "
            "outside LungRead); refused. A manager should run `lungread audit verify --trust`")


def signing_key(actor: Actor) -> Signer:
    """The actor's unwrapped signing key; an Actor made without signing in has none."""
    if actor.key is None:
        raise AuthenticationError(f"{actor.username!r} has no signing key in this session: sign in again "
                                  "(every audited action is signed with the key unwrapped at sign-in)")
    return actor.key


def current_trial(session: Session) -> Trial:
    trial = session.scalars(select(Trial).order_by(Trial.id).limit(1)).first()
    if trial is None:
        raise WorkflowError("this database has no trial yet: a manager imports a manifest first")
    return trial


def charter_of(trial: Trial) -> Charter:
    return Charter.from_json(trial.charter_json)


def lock_of(session: Session, trial: Trial) -> DatabaseLock | None:
    return session.scalars(select(DatabaseLock).where(DatabaseLock.trial_id == trial.id)).first()


def unblinding_of(session: Session, trial: Trial) -> Unblinding | None:
    return session.scalars(select(Unblinding).where(Unblinding.trial_id == trial.id)).first()


def refuse_if_locked(session: Session, what: str) -> None:
    """Raise WorkflowError when the trial database is locked: nothing may be edited after the lock."""
    trial = session.scalars(select(Trial).order_by(Trial.id).limit(1)).first()
    if trial is None:
        return
    lock = lock_of(session, trial)
    if lock is not None:
        raise WorkflowError(
            f"the database was locked at {lock.locked_at}; {what} is no longer possible. "
            "Nobody may edit reads after the lock."
        )
