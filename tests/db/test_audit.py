"""Audit trail: every action is logged and hash-chained; editing any one row with plain SQL is caught
by ``lungread audit verify`` (exit 1), which names that row."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

import db
from db.models import AuditEvent
from db.security.audit import GENESIS, canonical_json
from db.services import (
    authenticate,
    generate_worklist,
    import_manifest,
    next_task,
    save_draft,
    sign_read,
    verify_audit_trail,
)
from desktop.cli.main import main as cli_main
from tests.support.db_trial import PASSWORD, make_accounts, read_input, write_mini_trial

COLUMNS = ("ts", "username", "action", "entity", "entity_id", "old_json", "new_json", "reason", "hash", "prev_hash",
           "user_id")


@pytest.fixture()
def audited_db(tmp_path: Path):
    trial = write_mini_trial(tmp_path / "data", ["S1", "S2"], ["V1"])
    url = str(tmp_path / "audit.sqlite")
    database = db.connect(url)
    actors = make_accounts(database)
    import_manifest(database, actors["boss"], trial.manifest)
    generate_worklist(database, actors["boss"], seed=9)
    task = next_task(database, actors["r1"])
    save_draft(database, actors["r1"], task.task_id, read_input(5.0, 1.0))
    sign_read(database, actors["r1"], task.task_id, read_input(5.0, 1.0), PASSWORD, "I am the author")
    yield database, url
    database.dispose()


def _tampered(value: object, column: str) -> object:
    if column == "user_id":
        return (value or 0) + 1000
    return f"{value}x"


def test_chain_links_every_event(audited_db):
    database, _ = audited_db
    with database.session() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    sign = next(e for e in events if e.action == "sign")
    assert sign.username == "r1" and "I am the author" in sign.new_json
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_editing_any_row_breaks_the_chain_at_that_row(audited_db, capsys):
    database, url = audited_db
    assert verify_audit_trail(database).ok
    with database.session() as s:
        n = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    assert n >= 20
    for event_id in range(1, n + 1):
        column = COLUMNS[event_id % len(COLUMNS)]
        with database.engine.begin() as conn:
            original = conn.execute(text(f"SELECT {column} FROM audit_events WHERE id = :i"), {"i": event_id}).scalar()
            conn.execute(text(f"UPDATE audit_events SET {column} = :v WHERE id = :i"),
                         {"v": _tampered(original, column), "i": event_id})
        result = verify_audit_trail(database)
        assert not result.ok and result.first_broken_id == event_id, (column, result)
        if event_id in (1, n // 2, n):
            capsys.readouterr()
            assert cli_main(["audit", "verify", "--db", url]) == 1
            out = capsys.readouterr().out
            assert f"BROKEN at event {event_id}:" in out
        with database.engine.begin() as conn:
            conn.execute(text(f"UPDATE audit_events SET {column} = :v WHERE id = :i"), {"v": original, "i": event_id})
    assert verify_audit_trail(database).ok
    capsys.readouterr()
    assert cli_main(["audit", "verify", "--db", url]) == 0
    assert "intact" in capsys.readouterr().out


def test_deleting_or_inserting_a_row_is_caught(audited_db):
    database, _ = audited_db
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE id = 5"))
    result = verify_audit_trail(database)
    assert not result.ok and result.first_broken_id == 6 and "missing" in result.problem


def _delete_newest(database: db.Database, n: int) -> None:
    with database.engine.begin() as conn:
        top = conn.execute(text("SELECT MAX(id) FROM audit_events")).scalar_one()
        conn.execute(text("DELETE FROM audit_events WHERE id > :i"), {"i": top - n})


def test_anchor_of_an_export_catches_deleted_newest_events(audited_db, tmp_path, capsys):
    """Deleting the newest events leaves a shorter chain that verifies on its own; the anchor that
    every export writes beside its files (and `audit anchor`) proves the events are gone."""
    from db.exports.reads import export_reads
    from db.security.audit import ANCHOR_FILE, read_anchor

    database, url = audited_db
    boss = authenticate(database, "boss", PASSWORD)
    csv_path = export_reads(database, boss, tmp_path / "exp" / "reads.csv")
    anchor = read_anchor(csv_path.parent / ANCHOR_FILE)
    head = database.read(lambda s: s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one())
    assert (anchor.event_id, anchor.hash) == (head.id, head.hash) and head.action == "export"
    assert verify_audit_trail(database, anchor).ok
    assert cli_main(["audit", "anchor", "--db", url, "--out", str(tmp_path / "a.json")]) == 0
    assert cli_main(["audit", "verify", "--db", url, "--anchor", str(tmp_path / "a.json")]) == 0
    assert "anchor event" in capsys.readouterr().out

    _delete_newest(database, 3)
    assert verify_audit_trail(database).ok  # the gap the anchor closes
    result = verify_audit_trail(database, anchor)
    assert not result.ok and result.first_broken_id == anchor.event_id - 2 and "gone" in result.problem
    assert cli_main(["audit", "verify", "--db", url, "--anchor", str(csv_path.parent)]) == 1
    assert f"events {anchor.event_id - 2} to {anchor.event_id} are gone" in capsys.readouterr().out


def test_anchor_catches_a_rewritten_tail(audited_db, tmp_path):
    """Delete the newest events and append new ones with valid hashes: the chain verifies, but the
    anchored event id now holds a different hash."""
    from db.security.audit import append_event, audit_anchor

    database, _ = audited_db
    anchor = audit_anchor(database)
    _delete_newest(database, 2)
    for i in range(2):
        database.write(lambda s: append_event(s, user_id=None, username="mallory", action="note", entity="x",
                                              entity_id=i))
    assert verify_audit_trail(database).ok
    result = verify_audit_trail(database, anchor)
    assert not result.ok and result.first_broken_id == anchor.event_id and "differs from the anchor" in result.problem


def test_bad_anchor_file_is_a_clear_error(audited_db, tmp_path, capsys):
    _, url = audited_db
    bad = tmp_path / "anchor.json"
    bad.write_text('{"event_id": "five"}')
    assert cli_main(["audit", "verify", "--db", url, "--anchor", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a LungRead audit anchor" in err and "Traceback" not in err
    assert cli_main(["audit", "verify", "--db", url, "--anchor", str(tmp_path / "missing.json")]) == 2
    assert "cannot read audit anchor" in capsys.readouterr().err
