"""``lungread package export|import`` and ``lungread open`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.cli.main import main
from tests.support.db_trial import PASSWORD, write_mini_trial
from tests.support.packages import build_master, sign_offline, snapshot, sql


def test_cli_export_import_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trial = write_mini_trial(tmp_path / "trial", ["S1", "S2"], ["V1"])
    master = build_master(tmp_path / "master.sqlite", trial.manifest)
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    url = str(tmp_path / "master.sqlite")
    assert main(["package", "export", "--reader", "r1", "--out", str(tmp_path / "p1"), "--db", url,
                 "--user", "boss"]) == 0
    assert "2 case(s)" in capsys.readouterr().out
    # A reader may not export.
    assert main(["package", "export", "--reader", "r2", "--out", str(tmp_path / "p2"), "--db", url,
                 "--user", "r1"]) == 2
    assert "only a manager" in capsys.readouterr().err and not (tmp_path / "p2").exists()

    sign_offline(tmp_path / "p1", "r1", lambda code: 30.0)
    assert main(["package", "import", str(tmp_path / "p1"), "--db", url, "--user", "boss"]) == 0
    assert "merged 2 signed read(s)" in capsys.readouterr().out
    before = snapshot(master.db)
    assert main(["package", "import", str(tmp_path / "p1"), "--db", url, "--user", "boss"]) == 0
    assert "nothing new" in capsys.readouterr().out
    # The re-import wrote nothing; the command's login is audited (issue 4), and only that.
    assert _only_logins_since(master, before)

    # Tampered: refused, exit 2, the report names the bad read; master unchanged.
    sql(tmp_path / "p1" / "reading.sqlite", "UPDATE reads SET confidence = 1 WHERE status = 'signed'")
    assert main(["package", "import", str(tmp_path / "p1"), "--db", url, "--user", "boss"]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "confidence" in err
    assert _only_logins_since(master, before)
    assert main(["audit", "verify", "--db", url]) == 0


def _only_logins_since(master, before) -> bool:  # type: ignore[no-untyped-def]
    """Same rows as ``before`` except audit events, and every audit event since is a CLI login."""
    from sqlalchemy import select

    from db.models import AuditEvent

    counts, head = snapshot(master.db)
    old_counts, old_head = before
    n_old = old_counts["audit_events"]
    new = master.db.read(lambda s: [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.id > n_old))])
    same_rows = {k: v for k, v in counts.items() if k != "audit_events"} == {
        k: v for k, v in old_counts.items() if k != "audit_events"}
    return same_rows and bool(new) and set(new) == {"login"}


def test_open_refuses_a_non_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x").mkdir()
    assert main(["open", str(tmp_path / "x")]) == 2
    assert "not a reading package" in capsys.readouterr().err
