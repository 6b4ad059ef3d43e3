"""The database commands of ``lungread``: bootstrap rule, passwords, exit codes and messages."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

import db
from db.models import Randomization, Scan
from desktop.cli.main import main
from tests.support.db_trial import PASSWORD, write_mini_trial


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_database_commands_end_to_end(tmp_path: Path, monkeypatch, capsys):
    url = str(tmp_path / "cli.sqlite")
    trial = write_mini_trial(tmp_path / "data", ["S1", "S2"], ["V1", "V2"])
    monkeypatch.delenv("LUNGREAD_PASSWORD", raising=False)
    monkeypatch.delenv("LUNGREAD_NEW_PASSWORD", raising=False)

    code, out, _ = run(capsys, "db", "init", "--db", url)
    assert code == 0 and "revision 0006" in out
    assert run(capsys, "db", "upgrade", "--db", url)[0] == 0

    # no terminal and no LUNGREAD_PASSWORD: an error, never a prompt
    code, _, err = run(capsys, "user", "add", "boss", "--role", "manager", "--db", url)
    assert code == 2 and "LUNGREAD_PASSWORD" in err
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    # bootstrap: the first account needs no login but must be a manager
    code, _, err = run(capsys, "user", "add", "first", "--role", "reader", "--db", url)
    assert code == 2 and "must be a manager" in err
    assert run(capsys, "user", "add", "boss", "--role", "manager", "--db", url)[0] == 0
    code, _, err = run(capsys, "user", "add", "r1", "--role", "reader", "--db", url)
    assert code == 2 and "only a manager may add users" in err
    code, _, err = run(capsys, "user", "add", "r1", "--role", "reader", "--db", url, "--user", "boss")
    assert code == 2 and "LUNGREAD_NEW_PASSWORD" in err  # the new account's password: own variable or prompt
    monkeypatch.setenv("LUNGREAD_NEW_PASSWORD", PASSWORD)
    for name, role in (("r1", "reader"), ("r2", "reader"), ("stat", "statistician")):
        assert run(capsys, "user", "add", name, "--role", role, "--db", url, "--user", "boss")[0] == 0
    code, _, err = run(capsys, "user", "add", "r3", "--role", "reader", "--db", url, "--user", "r1")
    assert code == 2 and "only a manager may add users" in err

    # a manifest with bad rows: every one reported, nothing imported
    bad = tmp_path / "data" / "bad.csv"
    rows = list(csv.DictReader(open(trial.manifest, newline="")))
    rows.append({**rows[0]})  # duplicate subject/visit
    rows.append({**rows[1], "subject": "S9", "series_folder": "nowhere/dicom"})  # missing folder
    with open(bad, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code, _, err = run(capsys, "trial", "import", str(bad), "--db", url, "--user", "boss")
    assert code == 2 and "row 5:" in err and "row 6:" in err and "duplicate of row 1" in err
    assert "does not exist" in err and "nothing was imported" in err
    database = db.connect(url)
    with database.session() as s:
        assert s.scalar(select(func.count(Scan.id))) == 0
    code, out, _ = run(capsys, "trial", "import", str(trial.manifest), "--db", url, "--user", "boss")
    assert code == 0 and "imported 4 scan(s)" in out
    code, out, _ = run(capsys, "trial", "import", str(trial.manifest), "--db", url, "--user", "boss")
    assert code == 0 and "imported 0 scan(s), 4 already present" in out

    code, out, _ = run(capsys, "worklist", "generate", "--db", url, "--user", "boss", "--seed", "5")
    assert code == 0 and "8 task(s), seed 5" in out
    code, out, _ = run(capsys, "worklist", "show", "--db", url, "--user", "r1")
    assert code == 0 and len(out.strip().splitlines()) == 4

    code, _, err = run(capsys, "lock", "--db", url, "--user", "r1")
    assert code == 2 and "only a manager may lock the database" in err
    code, _, err = run(capsys, "lock", "--db", url, "--user", "boss")
    assert code == 2 and "8 reading or adjudication task(s) are not done" in err
    code, _, err = run(capsys, "unblind", str(trial.randomization), "--db", url, "--user", "stat")
    assert code == 2 and "not locked yet" in err
    code, out, _ = run(capsys, "lock", "--db", url, "--user", "boss", "--override-reason", "trial stopped early")
    assert code == 0 and "trial stopped early" in out
    code, _, err = run(capsys, "unblind", str(trial.randomization), "--db", url, "--user", "boss")
    assert code == 2 and "only a statistician may unblind, and only after a manager has locked" in err
    code, out, _ = run(capsys, "unblind", str(trial.randomization), "--db", url, "--user", "stat")
    assert code == 0 and "unblinded 2 subject(s)" in out
    with database.session() as s:
        assert s.scalar(select(func.count(Randomization.id))) == 2

    code, out, _ = run(capsys, "export", "reads", str(tmp_path / "out" / "reads.csv"), "--db", url, "--user", "boss")
    assert code == 0 and (tmp_path / "out" / "reads.dictionary.csv").exists()
    header = (tmp_path / "out" / "reads.csv").read_text().splitlines()[0]
    assert header.startswith("read_id,subject,visit")

    code, _, err = run(capsys, "lock", "--db", url, "--user", "boss", "--override-reason", "again")
    assert code == 2 and "already locked" in err
    monkeypatch.setenv("LUNGREAD_PASSWORD", "wrong-password")
    code, _, err = run(capsys, "lock", "--db", url, "--user", "boss")
    assert code == 2 and "wrong password" in err
    assert run(capsys, "audit", "verify", "--db", url)[0] == 0
    database.dispose()


def test_wrong_url_is_a_user_error(tmp_path, capsys):
    code, _, err = run(capsys, "audit", "verify", "--db", "mysql://nobody@localhost/x")
    assert code == 2 and "unsupported database URL" in err
