"""Unlocking the reader's account inside an offline reading package.

After too many wrong passwords a package account locks like any other (:mod:`db.security.accounts`), but
no manager is on the reader's computer to unlock it. Instead the manager reads out the package's
**unlock code** (by phone, say). The code is derived from the package's secret key, which only
the master database holds (HMAC-SHA256 of the package id, 16 base-32 characters), so a manager
can show it at any time with :func:`package_unlock_code`; the package holds only its scrypt hash,
inside the authenticated manifest. Using it unlocks the account and resets its failed-login
count, audited in the package's own trail (merged into the master trail on import) with an HMAC
keyed by the code, which the master checks at import. The unlock writes nothing but the package's
own database, after checking that it is one (:func:`unlock_package_account`).

The code unlocks; it does not log in: the reader still needs their password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, connect
from db.models import AuditEvent, LoginThrottle, User
from db.models.packages import ReadingPackage
from db.packages.errors import PackageError
from db.packages.manifest import DATABASE_NAME, manifest_signature_ok, read_manifest
from db.records import Actor
from db.security.access import require_role, signing_key
from db.security.audit import append_event
from db.security.keys import fingerprint
from db.security.passwords import verify_password

__all__ = ["unlock_code", "unlock_mac", "package_unlock_code", "unlock_package_account", "UNLOCK_HASH_KEY"]

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
                     entity_id=package_id, signer=signing_key(actor))
        return unlock_code(bytes.fromhex(pkg.hmac_key), package_id)

    return db.write(work)


def unlock_mac(code: str, package_id: str, username: str, failures: int) -> str:
    """HMAC-SHA256 (hex) keyed by the unlock code, kept in the package's ``unlock`` event: the
    master re-derives the code at import, so the event proves the manager's code was used."""
    message = f"unlock:{package_id}:{username}:{failures}".encode("utf-8")
    return hmac.new(_normalise(code).encode("ascii"), message, hashlib.sha256).hexdigest()


def _package_database(root: Path, body: dict[str, object]) -> Path:
    """The package's own database file, refused unless it is a plain file inside the package (a
    link to another database, e.g. the master, would let the unlock write there)."""
    path = root / DATABASE_NAME
    try:
        info = path.lstat()
    except OSError as exc:
        raise PackageError(f"{root}: no {DATABASE_NAME} ({exc.strerror or exc})") from exc
    if path.is_symlink() or not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 \
            or path.resolve().parent != root.resolve():
        raise PackageError(f"{path} is not the package's own database file (a link or shared file); refused")
    if not manifest_signature_ok(root, body):
        raise PackageError(f"{root}: the package manifest is not signed; this is not a package exported by LungRead")
    return path


def unlock_package_account(root: str | Path, username: str, code: str) -> None:
    """Unlock ``username``'s account in the reading package at ``root`` with the manager's code.

    Only the package's own database is written (checked first: a plain file in the package, one
    account, its audit trail starting with this package's creation signed by the manager who
    signed the manifest), and only the audited unlock: the sign-in back-off is cleared.

    Raises:
        PackageError: not a genuine package, a wrong code, or the account is not in this package.
    """
    root = Path(root)
    body, _mac = read_manifest(root)
    path = _package_database(root, body)
    stored = body.get(UNLOCK_HASH_KEY)
    if not isinstance(stored, str):
        raise PackageError("this reading package has no unlock code; ask the core lab for a new package")
    if not verify_password(_normalise(code), stored):
        raise PackageError("wrong unlock code: check it with your core-lab manager (letters A-Z and digits 2-7)")
    package_id = str(body.get("package_id"))
    manager_fp = fingerprint(str(body.get("signer_public_key")))

    def work(s: Session) -> None:
        users = list(s.scalars(select(User)))
        first = s.scalars(select(AuditEvent).order_by(AuditEvent.id).limit(1)).first()
        if (first is None or first.entity_id != package_id or first.signer_key != manager_fp
                or first.hash != body.get("database", {}).get("anchor_event_hash")):  # type: ignore[union-attr]
            raise PackageError(f"{path} is not this package's database (its audit trail does not start with the "
                               "package's signed creation)")
        if len(users) != 1 or users[0].username != username or username != body.get("reader"):
            raise PackageError(f"there is no account {username!r} in this reading package")
        row = s.get(LoginThrottle, username)
        failures = row.failures if row is not None else 0
        if row is not None:
            s.delete(row)
        append_event(s, user_id=users[0].id, username=username, action="unlock", entity="user",
                     entity_id=users[0].id, old={"failures": failures}, new={"failures": 0,
                     "code_mac": unlock_mac(code, package_id, username, failures)},
                     reason="manager's package unlock code")

    database = connect(path, upgrade=False)
    try:
        database.write(work)
    finally:
        database.dispose()
