"""The attacks of issue 17, each reproduced with ordinary tools (sqlite3 and the open-source hashing
code, no private keys) and each shown caught: forged or edited package reads refused at import,
SQL edits of the master reported by ``audit verify --trust`` with the row named, the fake-package
unlock refused, no user enumeration at sign-in, and a lockout a second manager clears, signed."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

import db
from db.models import AuditEvent, LoginThrottle, Read, User
from db.packages.errors import PackageError, PackageRefused
from db.packages.export import export_package
from db.packages.merge import import_package
from db.security import keys as keys_module
from db.security import passwords as passwords_module
from db.security.audit import _chain_hash, read_anchor, state_digest
from db.security.keys import new_credentials
from db.security.read_hash import read_content_hash, read_fields
from db.services import (
    AuthenticationError,
    authenticate,
    create_user,
    generate_worklist,
    import_manifest,
    lock_database,
    trust_root,
    unblind,
    unlock_user,
    verify_audit_trail,
    verify_trust,
)
from desktop.cli.main import main
from tests.support.db_trial import ACCOUNTS, PASSWORD, make_accounts, read_input, sign_all, write_mini_trial
from tests.support.packages import Master, build_master, sign_offline, snapshot, sql

ATTACKER_PASSWORD = "mallory-knows-sql"


def rehash_chain(db_file: Path) -> None:
    """What an attacker's "short script" does: recompute every event's hash and link in order."""
    database = db.connect(db_file, upgrade=False)
    try:
        def work(s):  # type: ignore[no-untyped-def]
            prev = "0" * 64
            events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
            for ev in events:  # temporary values first: prev_hash and hash are unique
                ev.prev_hash, ev.hash = f"tmp-prev-{ev.id}", f"tmp-hash-{ev.id}"
            s.flush()
            for ev in events:
                ev.prev_hash = prev
                ev.hash = _chain_hash(prev, ev)
                prev = ev.hash
        database.write(work)
    finally:
        database.dispose()


# --------------------------------------------------------------------------------------------
# 1. Offline signatures: forged reads and edited signed values are refused at import.


@pytest.fixture(scope="module")
def package_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A master with r1's package exported (left unsigned: the attacker signs it)."""
    root = tmp_path_factory.mktemp("pkg_template")
    trial = write_mini_trial(root / "trial", ["S1", "S2"], ["V1", "V2"])
    master = build_master(root / "master.sqlite", trial.manifest)
    export_package(master.db, master.boss, "r1", root / "pkg")
    master.db.dispose()
    return root


@pytest.fixture()
def package_case(package_template: Path, tmp_path: Path) -> tuple[Master, Path]:
    shutil.copy2(package_template / "master.sqlite", tmp_path / "master.sqlite")
    shutil.copytree(package_template / "pkg", tmp_path / "pkg")
    database = db.connect(tmp_path / "master.sqlite")
    return Master(database, tmp_path / "master.sqlite", {"boss": authenticate(database, "boss", PASSWORD)}), \
        tmp_path / "pkg"


def _import_refused(master: Master, pkg: Path, expected: str) -> None:
    before = snapshot(master.db)
    with pytest.raises(PackageRefused) as info:
        import_package(master.db, master.boss, pkg)
    assert expected in str(info.value), str(info.value)
    assert snapshot(master.db) == before  # nothing merged, not even an audit event


def test_package_signed_under_a_swapped_key_is_refused(package_case) -> None:
    master, pkg = package_case
    # The attacker has the package file but not r1's password: they put their own key in r1's
    # account, make its signed registration match again (the state digest) and recompute the chain.
    creds = new_credentials(ATTACKER_PASSWORD)
    sql(pkg / "reading.sqlite", "UPDATE users SET signing_key = ?, public_key = ? WHERE username = 'r1'",
        (creds.signing_key, creds.public_key))
    state = {"username": "r1", "role": "reader", "active": True, "public_key": creds.public_key}
    sql(pkg / "reading.sqlite", "UPDATE audit_events SET state_sha256 = ? WHERE entity = 'user'",
        (state_digest(state),))
    rehash_chain(pkg / "reading.sqlite")
    signed = sign_offline_as(pkg, "r1", ATTACKER_PASSWORD, 99.0)
    assert signed == 4  # the package's own services accepted the forged account
    _import_refused(master, pkg, "signed by a key the master database never registered")


def sign_offline_as(pkg: Path, reader: str, password: str, pct: float) -> int:
    from db.packages.open import open_package
    from db.services import sign_read, worklist

    database = open_package(pkg)
    try:
        actor = authenticate(database, reader, password)
        tasks = worklist(database, actor)
        for task in tasks:
            sign_read(database, actor, task.task_id, read_input(pct, pct / 4, shape=(6, 16, 16)), password,
                      "I am the author of this read")
        return len(tasks)
    finally:
        database.dispose()


def test_signed_value_edited_in_the_package_is_refused(package_case) -> None:
    master, pkg = package_case
    sign_offline(pkg, "r1", lambda code: 10.0)
    conn = sqlite3.connect(pkg / "reading.sqlite")
    try:
        read_id, code, revision = conn.execute(
            "SELECT r.id, t.case_code, r.revision FROM reads r JOIN read_tasks t ON t.id = r.task_id "
            "WHERE r.status = 'signed' ORDER BY r.id LIMIT 1").fetchone()
    finally:
        conn.close()
    # Change the value, the metrics, the sign event's summary and content hash, then the chain.
    database = db.connect(pkg / "reading.sqlite", upgrade=False)
    try:
        def work(s):  # type: ignore[no-untyped-def]
            row = s.get(Read, read_id)
            metrics = json.loads(row.metrics_json)
            metrics["lesion_pct"] = 55.0
            row.metrics_json, row.lesion_pct = json.dumps(metrics), 55.0
            ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "sign",
                                                    AuditEvent.entity_id == str(read_id))).one()
            new = json.loads(ev.new_json)
            new["lesion_pct"] = 55.0
            new["content_sha256"] = read_content_hash(code, "r1", revision, read_fields(row))
            ev.new_json = json.dumps(new, sort_keys=True, separators=(",", ":"))
        database.write(work)
    finally:
        database.dispose()
    rehash_chain(pkg / "reading.sqlite")
    _import_refused(master, pkg, "the signature does not verify")


def test_package_holds_no_master_password_verifier(package_case) -> None:
    master, pkg = package_case
    conn = sqlite3.connect(pkg / "reading.sqlite")
    try:
        (pw_hash, wrapped), = conn.execute("SELECT password_hash, signing_key FROM users").fetchall()
    finally:
        conn.close()
    master_hash = master.db.read(lambda s: s.scalar(select(User.password_hash).where(User.username == "r1")))
    assert pw_hash == "" and wrapped.startswith("ed25519-aesgcm$") and master_hash not in wrapped
    assert int(wrapped.split("$")[1]) >= 2**16  # the offline guess costs 64 MiB of scrypt per try


# --------------------------------------------------------------------------------------------
# 2. Master history: SQL edits after the lock and unblinding, and a recomputed chain.


@pytest.fixture(scope="module")
def locked_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("locked")
    trial = write_mini_trial(root / "trial", ["S1", "S2"], ["V1", "V2"])
    database = db.connect(root / "master.sqlite")
    actors = make_accounts(database)
    assert import_manifest(database, actors["boss"], trial.manifest).ok
    generate_worklist(database, actors["boss"], seed=3, readers=["r1", "r2"])
    for reader in ("r1", "r2"):
        sign_all(database, actors[reader], lambda scan_id, slot: read_input(10.0, 2.5))
    lock_database(database, actors["boss"])
    unblind(database, actors["stat"], trial.randomization)
    root_fp = trust_root(database)
    database.dispose()
    shutil.copy2(trial.randomization, root / "randomization.csv")
    return root, root_fp


@pytest.fixture()
def locked(locked_template, tmp_path: Path) -> tuple[Path, str]:
    root, fp = locked_template
    shutil.copy2(root / "master.sqlite", tmp_path / "master.sqlite")
    return tmp_path / "master.sqlite", fp


def _trust(path: Path, fp: str):  # type: ignore[no-untyped-def]
    database = db.connect(path, upgrade=False)
    try:
        return verify_trust(database, fp)
    finally:
        database.dispose()


def test_untouched_locked_trial_is_trusted(locked, capsys) -> None:
    path, fp = locked
    report = _trust(path, fp)
    assert report.ok, report.describe()
    assert report.n_signed > 20 and report.n_rows >= 4 + 4 + 8 + 2
    assert main(["audit", "verify", "--db", str(path), "--trust", fp]) == 0
    assert "trusted:" in capsys.readouterr().out
    # Another fingerprint (somebody else's root) is refused, and so is a malformed one.
    assert not _trust(path, "0" * 64).ok
    assert main(["audit", "verify", "--db", str(path), "--trust", "abc"]) == 2


@pytest.mark.parametrize("table, statement", [
    ("reads", "UPDATE reads SET lesion_pct = 55 WHERE id = (SELECT MIN(id) FROM reads)"),
    ("users", "UPDATE users SET role = 'manager' WHERE username = 'r1'"),
    ("scans", "UPDATE scans SET folder = '/elsewhere' WHERE id = (SELECT MIN(id) FROM scans)"),
    ("database_locks", "UPDATE database_locks SET override_reason = 'late reads allowed'"),
    ("database_locks", "DELETE FROM database_locks"),
    ("unblindings", "UPDATE randomization SET arm = 'ARM-BETA' WHERE id = (SELECT MIN(id) FROM randomization)"),
    ("unblindings", "DELETE FROM unblindings"),
    ("trials", "UPDATE trials SET charter_json = replace(charter_json, '5.0', '50.0')"),
])
def test_sql_edit_of_a_signed_row_is_reported_with_its_row(locked, capsys, table: str, statement: str) -> None:
    path, fp = locked
    sql(path, statement)
    database = db.connect(path, upgrade=False)
    try:
        assert verify_audit_trail(database).ok  # the plain hash chain never sees a row edit
    finally:
        database.dispose()
    report = _trust(path, fp)
    assert not report.ok
    assert any(p.table == table and p.row_id is not None for p in report.problems), report.describe()
    assert main(["audit", "verify", "--db", str(path), "--trust", fp]) == 1
    out = capsys.readouterr().out
    assert f"{table} row " in out and "NOT TRUSTED" in out


def test_recomputed_chain_is_reported(locked) -> None:
    path, fp = locked
    # Change a signed read's recorded value in its sign event, then recompute every hash.
    sql(path, "UPDATE audit_events SET new_json = replace(new_json, '\"lesion_pct\":10.0', '\"lesion_pct\":55.0') "
              "WHERE id = (SELECT MIN(id) FROM audit_events WHERE action = 'sign')")
    rehash_chain(path)
    database = db.connect(path, upgrade=False)
    try:
        assert verify_audit_trail(database).ok  # the rewritten chain links up again...
    finally:
        database.dispose()
    report = _trust(path, fp)  # ...but no signature after the edit verifies
    assert not report.ok
    first = min(p.event_id for p in report.problems if p.event_id is not None)
    edited = sqlite3.connect(path).execute("SELECT MIN(id) FROM audit_events WHERE action = 'sign'").fetchone()[0]
    assert first == edited and "does not verify" in report.describe()


def test_role_set_in_sql_is_refused_at_once(locked) -> None:
    path, _fp = locked
    sql(path, "UPDATE users SET role = 'manager' WHERE username = 'r1'")
    database = db.connect(path)
    try:
        r1 = authenticate(database, "r1", PASSWORD)
        from db.services import list_users

        with pytest.raises(AuthenticationError, match="differs from its last signed state"):
            list_users(database, r1)
    finally:
        database.dispose()


def test_forged_event_signed_by_a_readers_key_gives_no_authority(locked) -> None:
    """A reader who knows their own password signs an "update" of their own role: the signature is
    valid, but only a manager may sign it, so --trust reports it."""
    path, fp = locked
    database = db.connect(path)
    try:
        r1 = authenticate(database, "r1", PASSWORD)

        def forge(s):  # type: ignore[no-untyped-def]
            from db.security.audit import append_event
            from db.security.signed_state import user_state

            user = s.scalars(select(User).where(User.username == "r1")).one()
            user.role = "manager"
            append_event(s, user_id=user.id, username="r1", action="update", entity="user", entity_id=user.id,
                         new=user_state(user), signer=r1.key, state=user_state(user))
        database.write(forge)
    finally:
        database.dispose()
    report = _trust(path, fp)
    assert not report.ok and "only manager may do this" in report.describe()


# --------------------------------------------------------------------------------------------
# 3. The fake-package unlock.


def test_fake_package_linking_to_the_master_is_refused(package_case, tmp_path: Path, capsys) -> None:
    master, pkg = package_case
    before = snapshot(master.db)
    fake = tmp_path / "fake"
    fake.mkdir()
    shutil.copy2(pkg / "manifest.json", fake / "manifest.json")
    os.symlink(master.path, fake / "reading.sqlite")
    assert main(["package", "unlock", str(fake), "--user", "boss", "--code", "AAAA-BBBB-CCCC-DDDD"]) == 2
    assert "not the package's own database" in capsys.readouterr().err
    os.unlink(fake / "reading.sqlite")
    os.link(master.path, fake / "reading.sqlite")  # a hard link: the same file under another name
    assert main(["package", "unlock", str(fake), "--user", "boss", "--code", "AAAA-BBBB-CCCC-DDDD"]) == 2
    os.unlink(fake / "reading.sqlite")
    shutil.copy2(master.path, fake / "reading.sqlite")  # a copy: not this package's database
    from db.packages.unlock import unlock_package_account

    with pytest.raises(PackageError):
        unlock_package_account(fake, "boss", "AAAA-BBBB-CCCC-DDDD")
    assert snapshot(master.db) == before  # no master row written, scan folders untouched


# --------------------------------------------------------------------------------------------
# 4. Sign-in: no enumeration, no permanent lockout, a second manager clears it (signed).


@pytest.fixture()
def accounts(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = db.connect(tmp_path / "accounts.sqlite")
    actors = make_accounts(database, {"boss": "manager", "boss2": "manager", "r1": "reader"})
    yield database, actors
    database.dispose()


def test_unknown_user_and_wrong_password_look_the_same(accounts, monkeypatch) -> None:
    database, _ = accounts
    calls: list[int] = []
    for module in (keys_module, passwords_module):  # the verifier's and the key's scrypt
        real = module._derive
        monkeypatch.setattr(module, "_derive", lambda *a, real=real: (calls.append(a[2]), real(*a))[1])
    for attempt in range(1, 7):
        messages = []
        for name in ("r1", "ghost"):
            calls.clear()
            with pytest.raises(AuthenticationError) as info:
                authenticate(database, name, "wrong-password-x")
            # the same text but the name, and the pause's end time (a second may pass in between)
            messages.append(re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", str(info.value).replace(name, "NAME")))
            assert calls == [passwords_module.SCRYPT_N]  # the same scrypt work for both
        assert messages[0] == messages[1], (attempt, messages)
        expected = {4: "1 attempts left", 5: "now locked until", 6: "paused"}.get(attempt, "attempts left")
        assert expected in messages[0], (attempt, messages)


def test_lockout_is_time_based_and_a_second_manager_clears_it(accounts, tmp_path: Path) -> None:
    database, actors = accounts
    for _ in range(12):
        with pytest.raises(AuthenticationError):
            authenticate(database, "boss", "wrong-password-x")
    with pytest.raises(AuthenticationError, match="paused"):  # even the right password waits
        authenticate(database, "boss", PASSWORD)
    row = database.read(lambda s: s.get(LoginThrottle, "boss"))
    pause = datetime.fromisoformat(row.blocked_until) - datetime.now(timezone.utc)
    assert timedelta(0) < pause <= timedelta(minutes=15)  # never permanent, even for the last manager

    view = unlock_user(database, actors["boss2"], "boss", "identity checked in person")
    assert not view.locked and view.failed_logins == 0
    assert authenticate(database, "boss", PASSWORD).username == "boss"
    ev = database.read(lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "unlock_account")).one())
    assert ev.username == "boss2" and ev.reason == "identity checked in person"
    assert ev.signer_key == actors["boss2"].key.fingerprint and ev.signature
    report = verify_trust(database, trust_root(database))
    assert report.ok, report.describe()


def test_lockout_expires_by_itself(accounts) -> None:
    database, _ = accounts
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(database, "r1", "wrong-password-x")
    with pytest.raises(AuthenticationError, match="paused"):
        authenticate(database, "r1", PASSWORD)
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()

    def elapse(s):  # type: ignore[no-untyped-def]
        s.get(LoginThrottle, "r1").blocked_until = past  # the clock moved on
    database.write(elapse)
    assert authenticate(database, "r1", PASSWORD).username == "r1"


def test_user_unlock_command_needs_a_manager_and_a_reason(accounts, capsys, monkeypatch) -> None:
    database, _ = accounts
    url = database.url
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(database, "boss", "wrong-password-x")
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    assert main(["user", "unlock", "boss", "--db", url, "--user", "boss2"]) == 2  # no reason
    assert main(["user", "unlock", "boss", "--db", url, "--user", "r1", "--reason", "x"]) == 2  # not a manager
    assert main(["user", "unlock", "boss", "--db", url, "--user", "boss2", "--reason", "phone call"]) == 0
    assert "unlocked" in capsys.readouterr().out
    assert authenticate(database, "boss", PASSWORD).username == "boss"


def test_password_change_keeps_the_key(accounts) -> None:
    from db.services import change_password

    database, actors = accounts
    before = actors["r1"].key.fingerprint
    change_password(database, actors["r1"], PASSWORD, "a-new-password-2")
    with pytest.raises(AuthenticationError):
        authenticate(database, "r1", PASSWORD)
    again = authenticate(database, "r1", "a-new-password-2")
    assert again.key.fingerprint == before
    assert verify_trust(database, trust_root(database)).ok


def test_root_fingerprint_is_printed_at_init_and_carried_by_anchors(tmp_path: Path, capsys, monkeypatch) -> None:
    url = str(tmp_path / "new.sqlite")
    monkeypatch.setenv("LUNGREAD_NEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    assert main(["db", "init", "--db", url, "--manager", "boss"]) == 0
    out = capsys.readouterr().out
    fp = out.split("trust root fingerprint: ")[1].split()[0]
    assert len(fp) == 64
    assert main(["audit", "anchor", "--db", url, "--out", str(tmp_path / "anchor.json")]) == 0
    assert read_anchor(tmp_path / "anchor.json").trust_root == fp
    database = db.connect(url)
    try:
        assert trust_root(database) == fp
        assert verify_trust(database, fp).ok
        boss = authenticate(database, "boss", PASSWORD)
        create_user(database, boss, "r9", "reader", PASSWORD)
        assert verify_trust(database, fp).ok
    finally:
        database.dispose()
    _ = ACCOUNTS  # the standard accounts are used by the fixtures above


def test_accounts_from_before_signing_keys_get_a_key_that_trust_does_not_vouch_for(tmp_path: Path) -> None:
    """A database at revision 0004 (no keys): the first sign-in after the upgrade gives the account
    a key, registered by its holder; `--trust` says so instead of vouching for it."""
    import sqlalchemy as sa
    from alembic import command

    from db.migrations import alembic_config
    from db.security.passwords import hash_password

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.exec_driver_sql("INSERT INTO users (username, role, password_hash, failed_logins, locked, active, "
                             "created_at) VALUES ('oldboss', 'manager', ?, 0, 0, 1, 't')", (hash_password(PASSWORD),))
    engine.dispose()
    database = db.connect(tmp_path / "old.sqlite")
    try:
        with pytest.raises(AuthenticationError):
            authenticate(database, "oldboss", "wrong-password-x")
        boss = authenticate(database, "oldboss", PASSWORD)
        assert boss.key is not None
        create_user(database, boss, "r1", "reader", PASSWORD)  # the key signs from now on
        report = verify_trust(database, boss.key.fingerprint)
        assert not report.ok and "registered by its own holder" in report.describe()
        # Only that is reported: the account's later signatures (creating r1) are checked and hold.
        assert [p.event_id for p in report.problems] == [2, None], report.describe()  # and no root event
    finally:
        database.dispose()
