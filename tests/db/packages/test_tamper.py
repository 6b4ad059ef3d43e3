"""Tampered, corrupt or conflicting reading packages are refused whole, naming the bad file or
read, with the master database left unchanged (row counts and audit head hash); importing the same
package twice changes nothing the second time (issue 8)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import db
from db.models import ReadTask
from db.packages.errors import PackageError, PackageRefused
from db.packages.export import export_package
from db.packages.merge import import_package
from db.services import verify_audit_trail
from tests.support.db_trial import write_mini_trial
from tests.support.packages import Master, sign_offline, snapshot, sql


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A master database with r1's package exported and signed offline (every case), kept pristine."""
    from tests.support.packages import build_master

    root = tmp_path_factory.mktemp("template")
    trial = write_mini_trial(root / "trial", ["S1", "S2", "S3"], ["V1", "V2"])
    master = build_master(root / "master.sqlite", trial.manifest)
    export_package(master.db, master.boss, "r1", root / "pkg")
    master.db.dispose()
    sign_offline(root / "pkg", "r1", lambda code: 12.5)
    return root


@pytest.fixture()
def case(template: Path, tmp_path: Path) -> tuple[Master, Path]:
    """A fresh copy of the master database and of the signed package."""
    shutil.copy2(template / "master.sqlite", tmp_path / "master.sqlite")
    shutil.copytree(template / "pkg", tmp_path / "pkg")
    from db.services import authenticate
    from tests.support.db_trial import ACCOUNTS, PASSWORD

    database = db.connect(tmp_path / "master.sqlite")
    actors = {name: authenticate(database, name, PASSWORD) for name in ACCOUNTS}
    return Master(database, tmp_path / "master.sqlite", actors), tmp_path / "pkg"


def _first_signed(pkg: Path) -> tuple[str, int, str]:
    conn = sqlite3.connect(pkg / "reading.sqlite")
    try:
        return conn.execute(
            "SELECT t.case_code, r.id, r.lung_mask_sha FROM reads r JOIN read_tasks t ON t.id = r.task_id "
            "WHERE r.status = 'signed' ORDER BY t.order_index LIMIT 1").fetchone()
    finally:
        conn.close()


def _refused(master: Master, pkg: Path) -> PackageRefused:
    before = snapshot(master.db)
    with pytest.raises(PackageRefused) as info:
        import_package(master.db, master.boss, pkg)
    assert snapshot(master.db) == before
    return info.value


def test_clean_import_then_idempotent(case) -> None:
    master, pkg = case
    report = import_package(master.db, master.boss, pkg)
    assert report.changed and len(report.merged) == 6
    counts, head = snapshot(master.db)
    assert counts["reads"] == 6 and counts["package_read_imports"] == 6
    again = import_package(master.db, master.boss, pkg)
    assert not again.changed and len(again.unchanged) == 6
    assert snapshot(master.db) == (counts, head)
    assert verify_audit_trail(master.db).ok


def test_flipped_byte_in_mask_blob(case) -> None:
    master, pkg = case
    code, _read_id, sha = _first_signed(pkg)
    conn = sqlite3.connect(pkg / "reading.sqlite")
    data = bytearray(conn.execute("SELECT data FROM mask_blobs WHERE sha256 = ?", (sha,)).fetchone()[0])
    conn.close()
    data[len(data) // 2] ^= 0x01
    sql(pkg / "reading.sqlite", "UPDATE mask_blobs SET data = ? WHERE sha256 = ?", (bytes(data), sha))
    err = _refused(master, pkg)
    assert any(code in p and "mask" in p for p in err.problems), err.problems


def test_edited_signed_metric(case) -> None:
    master, pkg = case
    code, read_id, _sha = _first_signed(pkg)
    conn = sqlite3.connect(pkg / "reading.sqlite")
    metrics = json.loads(conn.execute("SELECT metrics_json FROM reads WHERE id = ?", (read_id,)).fetchone()[0])
    conn.close()
    metrics["lesion_pct"] = 2.5  # a careful tamperer edits the column and the JSON alike
    sql(pkg / "reading.sqlite", "UPDATE reads SET lesion_pct = 2.5, metrics_json = ? WHERE id = ?",
        (json.dumps(metrics, sort_keys=True), read_id))
    err = _refused(master, pkg)
    assert any(code in p and "lesion_pct" in p for p in err.problems), err.problems


def test_edited_metric_json_only(case) -> None:
    master, pkg = case
    code, read_id, _sha = _first_signed(pkg)
    sql(pkg / "reading.sqlite", "UPDATE reads SET metrics_json = replace(metrics_json, '12.5', '1.5') WHERE id = ?",
        (read_id,))
    err = _refused(master, pkg)
    assert any(code in p for p in err.problems), err.problems


@pytest.mark.parametrize("column, value", [("comment", "edited after signing"), ("lung_ml", None)])
def test_edited_signed_comment_or_other_metric(case, column, value) -> None:
    """Fields outside the sign event's summary are covered by the sign-time content hash."""
    master, pkg = case
    code, read_id, _sha = _first_signed(pkg)
    if column == "comment":
        sql(pkg / "reading.sqlite", "UPDATE reads SET comment = ? WHERE id = ?", (value, read_id))
    else:  # a metric that is only in the JSON (lung volume), edited consistently
        conn = sqlite3.connect(pkg / "reading.sqlite")
        metrics = json.loads(conn.execute("SELECT metrics_json FROM reads WHERE id = ?", (read_id,)).fetchone()[0])
        conn.close()
        metrics["lung_ml"] = float(metrics.get("lung_ml", 0.0)) + 123.0
        sql(pkg / "reading.sqlite", "UPDATE reads SET metrics_json = ? WHERE id = ?",
            (json.dumps(metrics, sort_keys=True), read_id))
    err = _refused(master, pkg)
    assert any(code in p and "content_sha256" in p for p in err.problems), err.problems


def test_replaced_dicom_file(case) -> None:
    master, pkg = case
    files = sorted((pkg / "images").rglob("*.dcm"))
    shutil.copy2(files[1], files[0])  # a valid DICOM file, just not the exported one
    err = _refused(master, pkg)
    rel = files[0].relative_to(pkg).as_posix()
    assert any(rel in p and "changed" in p for p in err.problems), err.problems


def test_edited_manifest_is_refused(case) -> None:
    master, pkg = case
    doc = json.loads((pkg / "manifest.json").read_text())
    victim = sorted((pkg / "images").rglob("*.dcm"))[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    rel = victim.relative_to(pkg).as_posix()
    import hashlib

    doc["body"]["files"][rel] = hashlib.sha256(victim.read_bytes()).hexdigest()  # hash updated, MAC cannot be
    (pkg / "manifest.json").write_text(json.dumps(doc))
    err = _refused(master, pkg)
    assert any("HMAC" in p for p in err.problems), err.problems


def test_reassigned_task(case) -> None:
    master, pkg = case
    code, _read_id, _sha = _first_signed(pkg)

    def reassign(s) -> None:  # no reassign service yet: the manager's change, done in SQL
        from sqlalchemy import select

        from db.models import User

        task = s.scalars(select(ReadTask).where(ReadTask.case_code == code)).one()
        task.reader_id = s.scalars(select(User.id).where(User.username == "adj_b")).one()

    master.db.write(reassign)
    err = _refused(master, pkg)
    assert "reassigned" in err.conflicts.get(code, ""), err.conflicts
    assert len(err.conflicts) == 1 and not err.problems


def test_not_exported_here(case, tmp_path: Path) -> None:
    master, pkg = case
    other = db.connect(tmp_path / "other.sqlite")
    from tests.support.db_trial import make_accounts

    boss = make_accounts(other)["boss"]
    with pytest.raises(PackageError, match="not exported from this database"):
        import_package(other, boss, pkg)
    with pytest.raises(PackageError):
        import_package(master.db, master.boss, tmp_path / "nothing-here")


def test_corrupt_database_and_missing_file(case) -> None:
    master, pkg = case
    victim = sorted((pkg / "images").rglob("*.dcm"))[-1]
    victim.unlink()
    data = (pkg / "reading.sqlite").read_bytes()
    (pkg / "reading.sqlite").write_bytes(b"\0" * 100 + data[100:4096])  # header wiped, truncated
    err = _refused(master, pkg)
    assert any(victim.name in p and "missing" in p for p in err.problems), err.problems
    assert any(p.startswith("reading.sqlite") for p in err.problems), err.problems
