"""Identity, role and state checks shared by every service (the rules live here, not in the UI)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.errors import AuthenticationError, PermissionDenied, WorkflowError
from db.models import DatabaseLock, Trial, Unblinding, User
from db.records import Actor

__all__ = ["require_role", "current_trial", "charter_of", "lock_of", "refuse_if_locked", "ROLE_WHO"]

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
    if user.locked:
        raise AuthenticationError(
            f"account {user.username!r} is locked after repeated failed logins; a manager must unlock it"
        )
    if user.role not in roles:
        raise PermissionDenied(f"{rule} (you are {user.username!r}, {ROLE_WHO.get(user.role, user.role)})")
    return user


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
