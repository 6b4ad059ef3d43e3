"""A database that is missing, foreign, damaged or read-only, a full disk during an export and
Ctrl-D at the password prompt: one clear line and exit 2, never a traceback, and nothing created,
changed or left half-written (issue 18, "one-line errors")."""

from __future__ import annotations

import dataclasses
import errno
import os
import sqlite3
from pathlib import Path

import pytest

import db
from desktop.cli.main import main
from quant.analysis import csv_cells
from tests.support.db_trial import PASSWORD, make_accounts, read_input, sign_all, write_mini_trial


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lungread: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture()
def password(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)


def test_a_typo_in_the_database_path_creates_nothing(tmp_path: Path, capsys) -> None:
    typo = tmp_path / "typo.sqlite"
    for argv in (("audit", "verify", "--db", str(typo)), ("worklist", "show", "--db", str(typo), "--user", "x"),
                 ("db", "upgrade", "--db", str(typo))):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and "there is no database at" in _one_line_error(err) and "db init" in err
    assert not typo.exists() and list(tmp_path.iterdir()) == []


def test_a_foreign_sqlite_file_is_left_untouched(tmp_path: Path, capsys) -> None:
    other = tmp_path / "inventory.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO parts VALUES (1, 'bolt')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    for argv in (("audit", "verify", "--db", str(other)), ("db", "init", "--db", str(other))):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and "is not a LungRead database" in _one_line_error(err)
    assert other.read_bytes() == before
    tables = sqlite3.connect(other).execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    assert tables == [("parts",)]


def _damaged(kind: str, good: Path, path: Path) -> None:
    data = good.read_bytes()
    if kind == "random bytes":
        path.write_bytes(os.urandom(len(data)))
    elif kind == "text file":
        path.write_text("subject,visit\nS1,V1\n" * 200)
    elif kind == "zeroed header":
        path.write_bytes(b"\0" * 100 + data[100:])
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 3])


@pytest.mark.parametrize("kind", ["random bytes", "text file", "zeroed header", "truncated"])
def test_a_damaged_database_file_is_one_line(tmp_path: Path, capsys, password, kind: str) -> None:
    good = tmp_path / "good.sqlite"
    database = db.connect(good)
    make_accounts(database, {"boss": "manager"})
    database.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(good) + suffix).unlink(missing_ok=True)
    bad = tmp_path / "bad.sqlite"
    _damaged(kind, good, bad)
    before = bad.read_bytes()
    for argv in (("audit", "verify", "--db", str(bad)), ("user", "list", "--db", str(bad), "--user", "boss")):
        code, _, err = _run(capsys, *argv)
        line = _one_line_error(err)
        assert code == 2 and str(bad) in line, line
    assert bad.read_bytes() == before  # never "repaired" by adding tables


def test_a_read_only_database_says_so_and_keeps_its_data(tmp_path: Path, capsys, password) -> None:
    path = tmp_path / "ro.sqlite"
    database = db.connect(path)
    make_accounts(database, {"boss": "manager"})
    database.dispose()
    before = path.read_bytes()
    # SQLite's own read-only mode gives the same error as a file without write permission (the
    # test runs as root, for whom file permissions do not apply).
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    code, _, err = _run(capsys, "user", "list", "--db", url, "--user", "boss")
    assert code == 2 and "read-only" in _one_line_error(err) and "nothing was saved" in err
    assert path.read_bytes() == before


def test_ctrl_d_at_the_password_prompt(monkeypatch, tmp_path: Path, capsys) -> None:
    import getpass
    import sys

    database = db.connect(tmp_path / "x.sqlite")
    make_accounts(database, {"boss": "manager"})
    database.dispose()
    monkeypatch.delenv("LUNGREAD_PASSWORD", raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def eof(_prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", eof)
    code, _, err = _run(capsys, "user", "list", "--db", str(tmp_path / "x.sqlite"), "--user", "boss")
    assert code == 2 and "no password entered" in _one_line_error(err)


@pytest.fixture()
def signed_trial(tmp_path: Path):  # type: ignore[no-untyped-def]
    trial = write_mini_trial(tmp_path / "trial", ["=HYPERLINK(\"http://evil\",\"x\")", "S2"], ["V1"])
    database = db.connect(tmp_path / "t.sqlite")
    actors = make_accounts(database)
    from db.services import generate_worklist, import_manifest

    report = import_manifest(database, actors["boss"], trial.manifest)
    assert report.ok, report.errors
    generate_worklist(database, actors["boss"], seed=1, readers=["r1", "r2"])
    for reader in ("r1", "r2"):
        sign_all(database, actors[reader], lambda scan_id, slot: dataclasses.replace(
            read_input(10.0, 2.0), comment="@SUM(1+1)*cmd|' /C calc'!A0"))
    yield database, tmp_path
    database.dispose()


def test_exported_csv_cannot_run_a_formula(signed_trial, capsys, password) -> None:
    import csv

    database, tmp = signed_trial
    code, _, err = _run(capsys, "export", "reads", str(tmp / "out" / "reads.csv"), "--db", database.url,
                        "--user", "boss")
    assert code == 0, err
    rows = list(csv.DictReader((tmp / "out" / "reads.csv").open(encoding="utf-8")))
    assert rows and all(r["comment"] == "'@SUM(1+1)*cmd|' /C calc'!A0" for r in rows)
    cells = [v for r in rows for v in r.values() if v]
    assert not any(v.startswith(("=", "+", "@")) for v in cells)
    assert all(_is_number(v) for v in cells if v.startswith("-"))  # a leading minus only on numbers


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_disk_full_during_export_leaves_no_file(signed_trial, capsys, monkeypatch, password) -> None:
    database, tmp = signed_trial

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(csv_cells.os, "fsync", full)
    out = tmp / "export" / "reads.csv"
    code, _, err = _run(capsys, "export", "reads", str(out), "--db", database.url, "--user", "boss")
    assert code == 2 and "No space left on device" in _one_line_error(err)
    assert not out.exists() and not any(p.name.endswith(".part") for p in out.parent.iterdir())


def test_user_names_and_texts_that_could_deceive_are_refused(tmp_path: Path) -> None:
    from db.services import WorkflowError, authenticate, create_user, reopen_read, save_draft, worklist

    database = db.connect(tmp_path / "names.sqlite")
    actors = make_accounts(database, {"boss": "manager", "r1": "reader"})
    boss = actors["boss"]
    try:
        for bad in ("r\x1b[31m1", "nul\x00l", "zero\u200bwidth", "b\u043ess", "new line\n", "", "x" * 65):
            with pytest.raises(WorkflowError, match="user name|already"):
                create_user(database, boss, bad, "reader", PASSWORD)
        for look_alike in ("BOSS", "b0ss", "r-1", "rl", "R1"):
            with pytest.raises(WorkflowError, match="confused with the existing account"):
                create_user(database, boss, look_alike, "reader", PASSWORD)
        # NFKC: a full-width name is the ASCII name, and signs in as typed either way
        view = create_user(database, boss, "\uff52\uff12", "reader", PASSWORD)  # "ｒ２"
        assert view.username == "r2" and authenticate(database, "\uff52\uff12", PASSWORD).username == "r2"
        # comments: a 20 MB comment and an escape sequence are refused, with what to do
        from tests.support.db_trial import seed_tasks

        seed_tasks(database, ["r1"], 1)
        r1 = authenticate(database, "r1", PASSWORD)
        (task,) = worklist(database, r1)
        with pytest.raises(WorkflowError, match="limited to 4000 characters"):
            save_draft(database, r1, task.task_id, dataclasses.replace(read_input(1.0, 0.5), comment="x" * 20_000_000))
        with pytest.raises(WorkflowError, match="control or invisible"):
            save_draft(database, r1, task.task_id, dataclasses.replace(read_input(1.0, 0.5), comment="ok\x1b[2J"))
        save_draft(database, r1, task.task_id, dataclasses.replace(read_input(1.0, 0.5), comment="two\nlines\tfine"))
        with pytest.raises(WorkflowError, match="control or invisible"):
            reopen_read(database, r1, task.task_id, "why\x07")
    finally:
        database.dispose()


def test_a_file_name_cannot_forge_lines_in_an_error(tmp_path: Path, capsys, password) -> None:
    database = db.connect(tmp_path / "t.sqlite")
    make_accounts(database, {"boss": "manager"})
    database.dispose()
    evil = tmp_path / "x\nlungread: all good\x1b[32m.csv"
    code, _, err = _run(capsys, "trial", "import", str(evil), "--db", str(tmp_path / "t.sqlite"), "--user", "boss")
    line = _one_line_error(err)
    assert code == 2 and "\\n" in line and "\\x1b" in line and "\x1b" not in err, line
