"""The managed image store (issue 18): import copies every series, de-identified, into a
content-addressed folder; readers only ever open that copy; its hash is signed and re-checked
when a case opens; a refused import leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from pydicom import dcmread

import db
from db.services import (
    WorkflowError,
    check_case_images,
    generate_worklist,
    get_trial,
    import_manifest,
    open_task,
    set_charter,
    trust_root,
    verify_trust,
    worklist,
)
from tests.support.db_trial import make_accounts, write_mini_trial

PHI = {"PatientName": "PLANTED^PERSON", "PatientID": "PID7654321", "InstitutionName": "Planted Memorial Hospital"}


def _store_dirs(root: Path) -> set[Path]:
    return {p for p in root.glob("??/*") if p.is_dir()} if root.is_dir() else set()


@pytest.fixture
def trial(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LUNGREAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LUNGREAD_IMAGE_STORE", raising=False)
    site = write_mini_trial(tmp_path / "site", ["S1", "S2"], ["V1"], phi=PHI)
    database = db.connect(tmp_path / "t.sqlite")
    actors = make_accounts(database, {"boss": "manager", "r1": "reader", "r2": "reader"})
    assert import_manifest(database, actors["boss"], site.manifest).ok
    generate_worklist(database, actors["boss"], seed=1, readers=["r1", "r2"])
    yield site, database, actors
    database.dispose()


def test_readers_open_a_de_identified_copy_whose_path_names_nobody(trial, tmp_path: Path) -> None:
    site, database, actors = trial
    store = tmp_path / "t-images"
    assert len(_store_dirs(store)) == 2
    for task in worklist(database, actors["r1"]):
        case = open_task(database, actors["r1"], task.task_id, with_masks=False)
        folder = case.series_files[0].parent
        assert folder.parent.parent == store and folder.name == case.content_hash
        assert all(part not in str(folder) for part in ("S1", "S2", "V1", "dicom", "site"))
        check_case_images(case.series_files, case.content_hash, case.case_code)
        ds = dcmread(case.series_files[0])
        assert str(ds.PatientName) == str(ds.PatientID) == "LUNGREAD^BLINDED" and "InstitutionName" not in ds
        assert "SeriesDescription" not in ds and str(ds.PatientIdentityRemoved) == "YES"
        assert not os.access(case.series_files[0], os.W_OK) or os.geteuid() == 0  # written once, read-only
        raw = b"".join(p.read_bytes() for p in case.series_files)
        assert all(v.encode() not in raw for v in PHI.values())
    # The site folder can go (or be re-sent) after intake: the readers' images do not change.
    shutil.rmtree(site.root / "S1")
    for task in worklist(database, actors["r2"]):
        case = open_task(database, actors["r2"], task.task_id, with_masks=False)
        check_case_images(case.series_files, case.content_hash, case.case_code)


def test_a_changed_store_copy_is_refused_and_reported(trial, tmp_path: Path, monkeypatch, capsys) -> None:
    from desktop.cli.main import main
    from tests.support.db_trial import PASSWORD

    _, database, actors = trial
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    verify = ["trial", "verify-images", "--db", str(tmp_path / "t.sqlite"), "--user", "boss"]
    capsys.readouterr()
    assert main(verify) == 0 and "2 scan(s) checked: every image as imported" in capsys.readouterr().out
    cases = [open_task(database, actors["r1"], t.task_id, with_masks=False) for t in worklist(database, actors["r1"])]
    mine, theirs = cases[0].series_files, cases[1].series_files
    for a, b in zip(mine, theirs, strict=True):  # someone with write access swaps one copy for another
        a.chmod(0o644)
        shutil.copy2(b, a)
    with pytest.raises(WorkflowError, match="changed since they were imported"):
        check_case_images(mine, cases[0].content_hash, cases[0].case_code)
    check_case_images(theirs, cases[1].content_hash, cases[1].case_code)
    # The manager's check of the whole store names the visit (readers only ever see case codes).
    assert main(verify) == 1
    out = capsys.readouterr().out
    assert "changed since import" in out and "1 with a problem" in out and out.count("V1:") == 1
    mine[-1].unlink()
    assert main(verify) == 1 and "1 of 6 image file(s) are missing" in capsys.readouterr().out
    with pytest.raises(WorkflowError, match=f"case {cases[0].case_code}"):
        open_task(database, actors["r1"], cases[0].task_id, with_masks=False)


def test_reimport_is_idempotent_and_a_refused_import_leaves_no_copy(trial, tmp_path: Path) -> None:
    site, database, actors = trial
    store = tmp_path / "t-images"
    before = _store_dirs(store)
    again = import_manifest(database, actors["boss"], site.manifest)
    assert again.ok and again.created == 0 and again.unchanged == 2 and _store_dirs(store) == before
    more = write_mini_trial(tmp_path / "site2", ["S3", "S4"], ["V1", "BADVISIT"])
    set_charter(database, actors["boss"], replace(get_trial(database).charter, visits=("V1",)), "SAP: one visit")
    report = import_manifest(database, actors["boss"], more.manifest)
    assert not report.ok and any("BADVISIT" in e.message for e in report.errors)
    assert _store_dirs(store) == before and not list((store / ".incoming").glob("*"))


def test_a_store_hash_edited_in_sql_is_reported_by_the_trust_check(trial, tmp_path: Path) -> None:
    _, database, _ = trial
    root = trust_root(database)
    assert verify_trust(database, root).ok
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:
        conn.execute("update scans set store_hash = ? where id = 1", ("0" * 64,))
    report = verify_trust(database, root)
    assert not report.ok and any(p.table == "scans" and p.row_id == "1" for p in report.problems)


def test_scans_imported_before_the_store_are_copied_in_by_the_cli(trial, tmp_path: Path, monkeypatch, capsys) -> None:
    from desktop.cli.main import main
    from tests.support.db_trial import PASSWORD

    site, database, actors = trial
    store = tmp_path / "t-images"
    # Two scans as revision 0005 left them: no store copy, read from the site files.
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:
        conn.execute("update scans set store_hash = null, store_files = null, store_series_uid = null")
    shutil.rmtree(store)
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    capsys.readouterr()
    assert main(["db", "upgrade", "--db", str(tmp_path / "t.sqlite")]) == 0
    assert "2 scan(s) were imported before the image store" in capsys.readouterr().out
    task = worklist(database, actors["r1"])[0]
    legacy = open_task(database, actors["r1"], task.task_id, with_masks=False)
    assert legacy.series_files[0].is_symlink() and "blinded" in str(legacy.series_files[0])
    # One site folder was re-sent since intake: that scan is not copied, and the command says so.
    resent = sorted((site.root / "S2" / "V1" / "dicom").glob("*.dcm"))
    resent[0].write_bytes(resent[0].read_bytes() + b"\0\0")
    code = main(["trial", "store-images", "--db", str(tmp_path / "t.sqlite"), "--user", "boss"])
    out = capsys.readouterr()
    assert code == 2 and "copied 1 scan(s)" in out.out and "site files changed since intake" in out.err
    assert len(_store_dirs(store)) == 1
    cases = [open_task(database, actors["r1"], t.task_id, with_masks=False) for t in worklist(database, actors["r1"])]
    in_store = [c for c in cases if c.series_files[0].parent.parent.parent == store]
    assert len(in_store) == 1
    check_case_images(in_store[0].series_files, in_store[0].content_hash, in_store[0].case_code)
    problems = verify_trust(database, trust_root(database)).problems
    # Scan 1's copy is a signed state; scan 2 still differs from what import signed (the SQL edit above).
    assert [p.row_id for p in problems if p.table == "scans"] == ["2"]


def test_rows_checked_in_worker_processes_import_the_same_and_a_refusal_leaves_no_copy(tmp_path: Path) -> None:
    """A large delivery's rows go to worker processes: the same scans, store copies and messages
    as in one process, and a refused manifest still leaves nothing in the store."""
    site = write_mini_trial(tmp_path / "site", ["S1", "S2", "S3"], ["V1", "V2"])
    bad = tmp_path / "site" / "bad.csv"
    bad.write_text(site.manifest.read_text() + "S9,V1,0,S1/V1/dicom,20200101\n")  # S1 V1's series again
    results = {}
    for workers in (1, 2):
        database = db.connect(tmp_path / f"w{workers}.sqlite")
        try:
            boss = make_accounts(database, {"boss": "manager"})["boss"]
            refused = import_manifest(database, boss, bad, workers=workers)
            assert [(e.row, e.message) for e in refused.errors] == [(7, "same series as row 1 (series UID "
                                                                        f"{_uid(site, 'S1')})")]
            assert _store_dirs(tmp_path / f"w{workers}-images") == set()
            report = import_manifest(database, boss, site.manifest, workers=workers)
            assert report.ok and report.created == 6
            results[workers] = {p.name for p in _store_dirs(tmp_path / f"w{workers}-images")}
        finally:
            database.dispose()
    assert len(results[1]) == 6 and len(results[2]) == 6


def _uid(site, subject: str) -> str:
    return str(dcmread(next((site.root / subject / "V1" / "dicom").glob("*.dcm")), stop_before_pixels=True)
               .SeriesInstanceUID)


def test_the_store_folder_is_given_at_db_init_and_can_move(tmp_path: Path, monkeypatch, capsys) -> None:
    """``db init --image-store`` names the folder (as beside PostgreSQL); moving it is a folder move
    plus ``LUNGREAD_IMAGE_STORE`` on the workstation, since the database keeps hashes, not paths."""
    from desktop.cli.main import main
    from tests.support.db_trial import PASSWORD

    monkeypatch.delenv("LUNGREAD_IMAGE_STORE", raising=False)
    url = str(tmp_path / "t.sqlite")
    capsys.readouterr()
    assert main(["db", "init", "--db", url, "--image-store", str(tmp_path / "shared" / "store")]) == 0
    assert f"image store: {tmp_path / 'shared' / 'store'}" in capsys.readouterr().out
    site = write_mini_trial(tmp_path / "site", ["S1", "S2"], ["V1"])
    database = db.connect(url)
    try:
        actors = make_accounts(database, {"boss": "manager", "r1": "reader", "r2": "reader"})
        assert import_manifest(database, actors["boss"], site.manifest).ok
        assert len(_store_dirs(tmp_path / "shared" / "store")) == 2 and not (tmp_path / "t-images").exists()
        generate_worklist(database, actors["boss"], seed=1, readers=["r1", "r2"])
        # Another store folder once series are stored: refused (it would orphan them).
        monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
        assert main(["db", "init", "--db", url, "--image-store", str(tmp_path / "elsewhere")]) == 2
        assert "moving the store is a folder move" in capsys.readouterr().err
        shutil.move(tmp_path / "shared" / "store", tmp_path / "mounted")
        monkeypatch.setenv("LUNGREAD_IMAGE_STORE", str(tmp_path / "mounted"))
        for task in worklist(database, actors["r1"]):
            case = open_task(database, actors["r1"], task.task_id, with_masks=False)
            assert case.series_files[0].is_relative_to(tmp_path / "mounted")
            check_case_images(case.series_files, case.content_hash, case.case_code)
    finally:
        database.dispose()
