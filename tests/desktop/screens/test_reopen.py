"""Reopening a signed read from the reader's worklist: the button, the reason dialog, the database
rows it changes, and the refusal after the database lock (enforced by the service, shown as an
error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox
from sqlalchemy import select

import db
from db.models import AuditEvent, Read, ReadTask
from db.services import generate_worklist, import_manifest, lock_database, sign_read, worklist
from desktop.app.session import AppContext
from desktop.screens.worklist import WorklistWidget
from tests.support.db_trial import PASSWORD, make_accounts, read_input, write_mini_trial
from tests.support.desktop import when_dialog

pytestmark = pytest.mark.gui


@pytest.fixture()
def signed_trial(tmp_path: Path):
    trial = write_mini_trial(tmp_path / "data", ["S1", "S2"], ["V1"])
    url = str(tmp_path / "reopen.sqlite")
    database = db.connect(url)
    actors = make_accounts(database)
    import_manifest(database, actors["boss"], trial.manifest)
    generate_worklist(database, actors["boss"], seed=3)
    tasks = worklist(database, actors["r1"])
    sign_read(database, actors["r1"], tasks[0].task_id, read_input(5.0, 1.0), PASSWORD, "I am the author")
    yield database, url, actors, int(tasks[0].task_id)
    database.dispose()


def _select(qtbot, widget: WorklistWidget, task_id: int) -> None:
    widget.refresh()
    widget.table.selectRow(widget.row_of_task(task_id))
    qtbot.waitUntil(lambda: widget._selected_task() is not None)


def test_reader_reopens_a_signed_read_with_a_reason(qtbot, signed_trial, monkeypatch):
    database, url, actors, task_id = signed_trial
    widget = WorklistWidget(AppContext(url=url, actor=actors["r1"]))
    qtbot.addWidget(widget)
    widget.show()
    widget.refresh()
    unsigned = next(t for t in widget.tasks if int(t.task_id) != task_id)
    widget.table.selectRow(widget.row_of_task(int(unsigned.task_id)))
    assert not widget.reopen.isEnabled()  # nothing to reopen on an unsigned case
    _select(qtbot, widget, task_id)
    assert widget.reopen.isEnabled()

    asked = []

    def answer(parent, title, label, *args, **kwargs):
        asked.append(label)
        return "solid component missed at the right base", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(answer))
    qtbot.mouseClick(widget.reopen, Qt.MouseButton.LeftButton)

    assert asked and "audit trail" in asked[0]
    task, reads, event = database.read(lambda s: (
        s.get(ReadTask, task_id),
        list(s.scalars(select(Read).where(Read.task_id == task_id).order_by(Read.revision))),
        s.scalars(select(AuditEvent).where(AuditEvent.action == "reopen")).one(),
    ))
    assert task.status == "draft" and reads[-1].status == "reopened"
    assert event.reason == "solid component missed at the right base" and event.username == "r1"
    row = widget.row_of_task(task_id)
    assert widget.table.item(row, 2).text() == "Draft" and widget.done_label.text().startswith("0 of")


def test_reopen_after_the_lock_is_refused_by_the_service(qtbot, signed_trial):
    database, url, actors, task_id = signed_trial
    lock_database(database, actors["boss"], "test: lock with open tasks")
    widget = WorklistWidget(AppContext(url=url, actor=actors["r1"]))
    qtbot.addWidget(widget)
    widget.show()
    _select(qtbot, widget, task_id)

    seen = []
    when_dialog(QMessageBox, lambda box: (seen.append(box.text() + " " + box.informativeText()), box.accept()))
    assert widget.reopen_selected("late correction") is False
    assert seen and "lock" in seen[0].lower()
    status = database.read(lambda s: s.get(ReadTask, task_id).status)
    assert status == "signed"
    assert not database.read(lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "reopen")).first())
