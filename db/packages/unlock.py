"""Unlocking the reader's account inside an offline reading package.

After too many wrong passwords a package account locks like any other (:mod:`db.security.accounts`), but
no manager is on the reader's computer to unlock it. Instead the manager reads out the package's
**unlock code** (by phone, say). The code is derived from the package's secret key, which only
the master database holds (HMAC-SHA256 of the package id, 16 base-32 characters), so a manager
can show it at any time with :func:`package_unlock_code`; the package holds only its scrypt hash,
inside the authenticated manifest. Using it unlocks the account and resets its failed-login
count, audited in the package's own trail (merged into the master trail on import).

The code unlocks; it does not log in: the reader still needs their password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import User
from db.models.packages import ReadingPackage
from db.packages.errors import PackageError
from db.packages.manifest import read_manifest
from db.records import Actor
from db.security.access import require_role
from db.security.audit import append_event
from db.security.passwords import verify_password

__all__ = ["unlock_code", "package_unlock_code", "unlock_package_account", "UNLOCK_HASH_KEY"]

#: manifest body key holding the scrypt hash of the unlock code
UNLOCK_HASH_KEY = "unlock_code_scrypt"
_RULE = "only a manager may show a package's unlock code"


def unlock_code(key: bytes, package_id: str) -> str:
    """The unlock code of package ``package_id`` whose secret key is ``key``: 16 characters of
    base 32 (A-Z, 2-7) in four groups, e.g. ``K7QX-2MDA-ZP4T-L6WE``."""
    digest = hmac.new(key, b"unlock-code:" + package_id.encode("ascii"), hashlib.sha256).digest()
    text = base64.b32encode(digest[:10]).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def _normalise(code: str) -> str:
    text = "".join(ch for ch in code.upper() if ch.isalnum())
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def package_unlock_code(db: Database, actor: Actor, package_id: str) -> str:
    """Manager, on the master database: the unlock code of an exported package (audited)."""

    def work(s: Session) -> str:
        manager = require_role(s, actor, ("manager",), _RULE)
        pkg = s.get(ReadingPackage, package_id)
        if pkg is None:
            raise PackageError(f"no reading package {package_id!r} was exported from this database")
        append_event(s, user_id=manager.id, username=manager.username, action="show_unlock_code", entity="package",
                     entity_id=package_id)
        return unlock_code(bytes.fromhex(pkg.hmac_key), package_id)

    return db.write(work)


def unlock_package_account(package_db: Database, root: str | Path, username: str, code: str) -> None:
    """Unlock ``username``'s account in the package at ``root`` (its database ``package_db``)
    with the manager's unlock code.

    Raises:
        PackageError: the code is wrong, the package has no unlock code (older format), or the
            account is not in this package.
    """
    body, _mac = read_manifest(Path(root))
    stored = body.get(UNLOCK_HASH_KEY)
    if not isinstance(stored, str):
        raise PackageError("this reading package has no unlock code; ask the core lab for a new package")
    if not verify_password(_normalise(code), stored):
        raise PackageError("wrong unlock code: check it with your core-lab manager (letters A-Z and digits 2-7)")

    def work(s: Session) -> None:
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise PackageError(f"there is no account {username!r} in this reading package")
        old = {"locked": user.locked, "failed_logins": user.failed_logins}
        user.locked, user.failed_logins = False, 0
        append_event(s, user_id=user.id, username=username, action="unlock", entity="user", entity_id=user.id,
                     old=old, new={"locked": False, "failed_logins": 0}, reason="manager's package unlock code")

    package_db.write(work)
