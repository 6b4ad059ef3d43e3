"""User accounts: creation (with the bootstrap rule), login with lockout, re-authentication."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import AuthenticationError, PermissionDenied, WorkflowError
from db.models import ROLES, User
from db.records import Actor, UserView
from db.security.access import require_role
from db.security.audit import append_event, utc_now
from db.security.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password

__all__ = [
    "MAX_FAILED_LOGINS",
    "create_user",
    "authenticate",
    "reauthenticate",
    "unlock_user",
    "list_users",
    "user_count",
]

MAX_FAILED_LOGINS = 5


def _view(user: User) -> UserView:
    return UserView(user.id, user.username, user.role, user.locked, user.active, user.failed_logins)


def user_count(db: Database) -> int:
    return db.read(lambda s: s.scalar(select(func.count(User.id))) or 0)


def create_user(db: Database, actor: Actor | None, username: str, role: str, password: str) -> UserView:
    """Create an account. ``actor`` must be a manager, except for the very first account
    (bootstrap, ``actor=None``), which must itself be a manager."""
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise WorkflowError("a username is 1-64 characters without spaces")
    if role not in ROLES:
        raise WorkflowError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WorkflowError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    pw_hash = hash_password(password)  # slow (scrypt): outside the transaction

    def work(s: Session) -> UserView:
        n_users = s.scalar(select(func.count(User.id))) or 0
        if actor is None:
            if n_users:
                raise PermissionDenied(
                    "only a manager may add users (give --user MANAGER); the login-free bootstrap "
                    "is only for the first account of an empty database"
                )
            if role != "manager":
                raise PermissionDenied("the first account of a new database must be a manager")
            creator_id, creator_name = None, None
        else:
            creator = require_role(s, actor, ("manager",), "only a manager may add users")
            creator_id, creator_name = creator.id, creator.username
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise WorkflowError(f"user {username!r} already exists")
        user = User(
            username=username, role=role, password_hash=pw_hash, failed_logins=0, locked=False,
            active=True, created_at=utc_now(),
        )
        s.add(user)
        s.flush()
        append_event(
            s, user_id=creator_id, username=creator_name, action="create", entity="user", entity_id=user.id,
            new={"username": username, "role": role}, reason="bootstrap" if actor is None else None,
        )
        return _view(user)

    return db.write(work)


def _record_login(db: Database, username: str, password: str, action: str) -> Actor:
    """Check a password, counting failures (lock after 5) in a committed transaction."""
    # scrypt is slow by design: derive the key before taking the write lock.
    stored = db.read(lambda s: s.scalar(select(User.password_hash).where(User.username == username)))
    verified = verify_password(password, stored) if stored else False

    def work(s: Session) -> tuple[Actor | None, str]:
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            append_event(s, user_id=None, username=username, action="login_failed", entity="user",
                         new={"reason": "unknown user"})
            return None, "unknown user or wrong password"
        if not user.active:
            append_event(s, user_id=user.id, username=username, action="login_failed", entity="user",
                         entity_id=user.id, new={"reason": "inactive account"})
            return None, f"account {username!r} is deactivated"
        if user.locked:
            append_event(s, user_id=user.id, username=username, action="login_failed", entity="user",
                         entity_id=user.id, new={"reason": "account locked"})
            return None, (f"account {username!r} is locked after {MAX_FAILED_LOGINS} failed logins; "
                          "a manager must unlock it")
        ok = verified if user.password_hash == stored else verify_password(password, user.password_hash)
        if not ok:
            old = user.failed_logins
            user.failed_logins = old + 1
            append_event(s, user_id=user.id, username=username, action="login_failed", entity="user",
                         entity_id=user.id, old={"failed_logins": old},
                         new={"failed_logins": user.failed_logins, "context": action})
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked = True
                append_event(s, user_id=user.id, username=username, action="lock_account", entity="user",
                             entity_id=user.id, old={"locked": False}, new={"locked": True},
                             reason=f"{MAX_FAILED_LOGINS} failed logins")
                return None, (f"wrong password; account {username!r} is now locked after "
                              f"{MAX_FAILED_LOGINS} failed logins (a manager must unlock it)")
            left = MAX_FAILED_LOGINS - user.failed_logins
            return None, f"unknown user or wrong password ({left} attempts left before the account locks)"
        if user.failed_logins:
            user.failed_logins = 0
        append_event(s, user_id=user.id, username=username, action=action, entity="user", entity_id=user.id)
        return Actor(user.id, user.username, user.role), ""

    actor, message = db.write(work)
    if actor is None:
        raise AuthenticationError(message)
    return actor


def authenticate(db: Database, username: str, password: str) -> Actor:
    """Log in. Wrong passwords are counted; the account locks after 5 in a row. Audited."""
    return _record_login(db, username, password, "login")


def reauthenticate(db: Database, actor: Actor, password: str, purpose: str) -> Actor:
    """Re-enter the password for an e-signature; a wrong one counts as a failed login."""
    checked = _record_login(db, actor.username, password, f"reauthenticate:{purpose}")
    if checked.user_id != actor.user_id:
        raise AuthenticationError("the signing account does not match the signed-in account")
    return checked


def unlock_user(db: Database, actor: Actor, username: str, reason: str) -> UserView:
    """Manager: unlock an account and reset its failed-login count (reason required, audited)."""
    if not reason.strip():
        raise WorkflowError("unlocking an account needs a reason")

    def work(s: Session) -> UserView:
        manager = require_role(s, actor, ("manager",), "only a manager may unlock accounts")
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise WorkflowError(f"no user {username!r}")
        old = {"locked": user.locked, "failed_logins": user.failed_logins}
        user.locked, user.failed_logins = False, 0
        append_event(s, user_id=manager.id, username=manager.username, action="unlock_account", entity="user",
                     entity_id=user.id, old=old, new={"locked": False, "failed_logins": 0}, reason=reason)
        return _view(user)

    return db.write(work)


def list_users(db: Database, actor: Actor) -> list[UserView]:
    def work(s: Session) -> list[UserView]:
        require_role(s, actor, ("manager",), "only a manager may list accounts")
        return [_view(u) for u in s.scalars(select(User).order_by(User.id))]

    return db.read(work)
