"""User accounts: creation with a signing key (the first one is the trial's trust root), sign-in with
a time-based back-off, re-authentication, password change, role changes and unlocking.

Sign-in never tells an unknown user from a wrong password: the same scrypt work, the same message
and the same back-off are applied to every user *name*, known or not (:class:`LoginThrottle`).
After :data:`MAX_FAILED_LOGINS` consecutive failures sign-in under that name is refused for
:data:`BACKOFF_START_S` seconds, doubling with each further failure up to :data:`BACKOFF_MAX_S`:
never a permanent lock, so nobody can lock out the last manager for good. A manager may clear the
back-off earlier (:func:`unlock_user`, reason required, signed). The back-off limits guessing; it
does not end a session already signed in (else anyone could end it by typing wrong passwords).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import AuthenticationError, PermissionDenied, WorkflowError
from db.models import ROLES, LoginThrottle, User
from db.records import Actor, Signer, UserView
from db.security.access import require_role, signing_key
from db.security.audit import append_event, utc_now
from db.security.keys import (
    SigningKey,
    dummy_login_work,
    fingerprint,
    new_credentials,
    open_credentials,
    rewrap_credentials,
)
from db.security.passwords import MIN_PASSWORD_LENGTH, verify_password
from db.security.signed_state import user_state
from db.security.text_rules import MAX_REASON, check_text, check_username, normalise_username

__all__ = [
    "MAX_FAILED_LOGINS",
    "BACKOFF_START_S",
    "BACKOFF_MAX_S",
    "create_user",
    "authenticate",
    "reauthenticate",
    "change_password",
    "set_account",
    "unlock_user",
    "list_users",
    "user_count",
]

MAX_FAILED_LOGINS = 5
BACKOFF_START_S = 60
BACKOFF_MAX_S = 15 * 60
_FAILED = "unknown user or wrong password"


def _throttle_of(s: Session, username: str) -> LoginThrottle | None:
    return s.get(LoginThrottle, username[:64])


def _blocked_until(row: LoginThrottle | None, now: datetime) -> datetime | None:
    if row is None or not row.blocked_until:
        return None
    until = datetime.fromisoformat(row.blocked_until)
    return until if until > now else None


def _view(s: Session, user: User) -> UserView:
    row = _throttle_of(s, user.username)
    until = _blocked_until(row, datetime.now(timezone.utc))
    return UserView(user.id, user.username, user.role, until is not None, user.active, row.failures if row else 0,
                    until.isoformat(timespec="seconds") if until else None,
                    fingerprint(user.public_key) if user.public_key else None)


def user_count(db: Database) -> int:
    return db.read(lambda s: s.scalar(select(func.count(User.id))) or 0)


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WorkflowError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def create_user(db: Database, actor: Actor | None, username: str, role: str, password: str) -> UserView:
    """Create an account with its own signing key, registered by the creating manager's signature.

    The very first account (bootstrap, ``actor=None``) must be a manager; its key is the trial's
    **trust root**: it signs its own registration, and its fingerprint
    (:attr:`UserView.key_fingerprint`) is what ``audit verify --trust`` checks everything against.
    """
    username = normalise_username(username)
    check_username(username, ())  # the form; look-alikes of existing names inside the transaction
    if role not in ROLES:
        raise WorkflowError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    _check_new_password(password)
    creds = new_credentials(password)  # slow (scrypt): outside the transaction

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
            creator_id, creator_name, key = None, None, creds.key
        else:
            creator = require_role(s, actor, ("manager",), "only a manager may add users")
            creator_id, creator_name, key = creator.id, creator.username, signing_key(actor)
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise WorkflowError(f"user {username!r} already exists")
        check_username(username, s.scalars(select(User.username)))
        user = User(username=username, role=role, password_hash=creds.password_hash, signing_key=creds.signing_key,
                    public_key=creds.public_key, active=True, created_at=utc_now())
        s.add(user)
        s.flush()
        append_event(
            s, user_id=creator_id, username=creator_name, action="create", entity="user", entity_id=user.id,
            new={"username": username, "role": role, "public_key": creds.public_key},
            reason="bootstrap" if actor is None else None, signer=key, state=user_state(user),
        )
        return _view(s, user)

    return db.write(work)


def _record_failure(s: Session, username: str, user: User | None, context: str, now: datetime) -> str:
    row = _throttle_of(s, username)
    if row is None:
        row = LoginThrottle(username=username[:64], failures=0)
        s.add(row)
    row.failures += 1
    row.last_failure_at = now.isoformat(timespec="microseconds")
    append_event(s, user_id=user.id if user else None, username=username[:64], action="login_failed", entity="user",
                 entity_id=user.id if user else None, new={"failures": row.failures, "context": context})
    if row.failures < MAX_FAILED_LOGINS:
        return f"{_FAILED} ({MAX_FAILED_LOGINS - row.failures} attempts left before sign-in pauses)"
    delay = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (row.failures - MAX_FAILED_LOGINS))
    until = now + timedelta(seconds=delay)
    row.blocked_until = until.isoformat(timespec="microseconds")
    return (f"{_FAILED}; after {row.failures} failed attempts sign-in as {username!r} is now locked until "
            f"{until:%H:%M:%S} UTC ({delay // 60} min; a manager can unlock it sooner)")


def _record_login(db: Database, username: str, password: str, action: str, session_key: Signer | None = None
                  ) -> Actor:
    """Check a password with the same work and message whether or not the user exists.

    Without ``session_key`` (a sign-in) the account's signing key is unwrapped; with it (a password
    re-entered for an e-signature in a session that holds the key) only the verifier is checked.
    """
    username = normalise_username(username)[:64]
    now = datetime.now(timezone.utc)
    stored, blocked = db.read(lambda s: (
        s.execute(select(User.password_hash, User.signing_key, User.public_key).where(User.username == username)).first(),
        _blocked_until(_throttle_of(s, username), now)))
    legacy = None
    if stored is None or blocked is not None:
        dummy_login_work(password)  # the same scrypt work as a real check
        key = None
    elif not stored[1] and verify_password(password, stored[0]):
        legacy = new_credentials(password)  # an account from before signing keys (revision 0005)
        key = legacy.key
    elif session_key is not None and stored[0]:
        key = session_key if verify_password(password, stored[0]) else None
    else:
        key = open_credentials(password, stored[0], stored[1] or "", stored[2] or "")

    def work(s: Session) -> tuple[Actor | None, str]:
        user = s.scalars(select(User).where(User.username == username)).first()
        if blocked is not None:
            append_event(s, user_id=user.id if user else None, username=username[:64], action="login_failed",
                         entity="user", entity_id=user.id if user else None, new={"context": action, "blocked": True})
            return None, (f"sign-in as {username!r} is paused after repeated failures until {blocked:%H:%M:%S} UTC; "
                          "try again then, or ask a manager to unlock it")
        if legacy is not None and user is not None and not user.signing_key:
            user.password_hash, user.signing_key, user.public_key = legacy.password_hash, legacy.signing_key, key.public_hex
            append_event(s, user_id=user.id, username=username, action="register_key", entity="user", entity_id=user.id,
                         new={"public_key": key.public_hex, "role": user.role}, reason="first sign-in after the upgrade to signing keys",
                         signer=key, state=user_state(user))
        if user is None or key is None or user.public_key != key.public_hex:
            return None, _record_failure(s, username, user, action, now)
        row = _throttle_of(s, username)
        if row is not None:
            s.delete(row)
        if not user.active:
            append_event(s, user_id=user.id, username=username, action="login_failed", entity="user",
                         entity_id=user.id, new={"reason": "inactive account"})
            return None, f"account {username!r} is deactivated"
        append_event(s, user_id=user.id, username=username, action=action, entity="user", entity_id=user.id,
                     signer=key)
        return Actor(user.id, user.username, user.role, key), ""

    actor, message = db.write(work)
    if actor is None:
        raise AuthenticationError(message)
    return actor


def authenticate(db: Database, username: str, password: str) -> Actor:
    """Sign in: check the password and unwrap the account's signing key for the session. Audited."""
    return _record_login(db, username, password, "login")


def reauthenticate(db: Database, actor: Actor, password: str, purpose: str) -> Actor:
    """Re-enter the password for an e-signature; a wrong one counts as a failed sign-in."""
    checked = _record_login(db, actor.username, password, f"reauthenticate:{purpose}", actor.key)
    if checked.user_id != actor.user_id:
        raise AuthenticationError("the signing account does not match the signed-in account")
    return checked


def change_password(db: Database, actor: Actor, old_password: str, new_password: str) -> Actor:
    """Change one's own password: the same signing key, wrapped under the new password. Signed."""
    _check_new_password(new_password)
    checked = reauthenticate(db, actor, old_password, "change_password")
    if not isinstance(checked.key, SigningKey):
        raise AuthenticationError("sign in again before changing the password (the session holds no key)")
    creds = rewrap_credentials(new_password, checked.key)

    def work(s: Session) -> None:
        user = require_role(s, actor, ROLES, "every account may change its own password")
        user.password_hash, user.signing_key = creds.password_hash, creds.signing_key
        append_event(s, user_id=user.id, username=user.username, action="change_password", entity="user",
                     entity_id=user.id, signer=checked.key, state=user_state(user))

    db.write(work)
    return checked


def set_account(db: Database, actor: Actor, username: str, reason: str, *, role: str | None = None,
                active: bool | None = None) -> UserView:
    """Manager: change an account's role or (de)activate it, with a reason. Signed.

    A manager cannot demote or deactivate the last active manager, nor their own account.
    """
    reason = check_text(reason, "the reason", MAX_REASON)
    if not reason:
        raise WorkflowError("changing an account needs a reason")
    if role is not None and role not in ROLES:
        raise WorkflowError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")

    def work(s: Session) -> UserView:
        manager = require_role(s, actor, ("manager",), "only a manager may change accounts")
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise WorkflowError(f"no user {username!r}")
        old = user_state(user)
        new_role = user.role if role is None else role
        new_active = user.active if active is None else active
        if user.id == manager.id and (new_role != "manager" or not new_active):
            raise PermissionDenied("a manager cannot demote or deactivate their own account")
        user.role, user.active = new_role, new_active
        append_event(s, user_id=manager.id, username=manager.username, action="update", entity="user",
                     entity_id=user.id, old=old, new=user_state(user), reason=reason, signer=signing_key(actor),
                     state=user_state(user))
        return _view(s, user)

    return db.write(work)


def unlock_user(db: Database, actor: Actor, username: str, reason: str) -> UserView:
    """Manager: clear the sign-in back-off of an account (reason required, signed)."""
    reason = check_text(reason, "the reason", MAX_REASON)
    if not reason:
        raise WorkflowError("unlocking an account needs a reason")

    def work(s: Session) -> UserView:
        manager = require_role(s, actor, ("manager",), "only a manager may unlock accounts")
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise WorkflowError(f"no user {username!r}")
        row = _throttle_of(s, username)
        old = {"failures": row.failures if row else 0, "locked_until": row.blocked_until if row else None}
        if row is not None:
            s.delete(row)
        append_event(s, user_id=manager.id, username=manager.username, action="unlock_account", entity="user",
                     entity_id=user.id, old=old, new={"failures": 0, "locked_until": None}, reason=reason,
                     signer=signing_key(actor))
        s.flush()
        return _view(s, user)

    return db.write(work)


def list_users(db: Database, actor: Actor) -> list[UserView]:
    def work(s: Session) -> list[UserView]:
        require_role(s, actor, ("manager",), "only a manager may list accounts")
        return [_view(s, u) for u in s.scalars(select(User).order_by(User.id))]

    return db.read(work)
