"""Changing the trial charter: manager only, with a reason, audited, refused once reading has
started; and the changed threshold really decides adjudication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

import db
from db.charter import Charter
from db.errors import PermissionDenied, WorkflowError
from db.models import AdjudicationTask, AuditEvent
from db.services import generate_worklist, get_trial, import_manifest, set_charter
from desktop.cli.main import main
from tests.support.db_trial import PASSWORD, make_accounts, read_input, sign_all, write_mini_trial


@pytest.fixture()
def trial_db(tmp_path: Path):
    trial = write_mini_trial(tmp_path / "data", ["S1", "S2"], ["BASE", "WK4"])
    url = str(tmp_path / "charter.sqlite")
    database = db.connect(url)
    actors = make_accounts(database)
    assert import_manifest(database, actors["boss"], trial.manifest).ok
    yield database, url, actors
    database.dispose()


def test_charter_rules_and_audit(trial_db):
    database, _url, a = trial_db
    new = Charter(adjudication_threshold_pct=8.0, visits=("BASE", "WK4", "WK12"))
    with pytest.raises(PermissionDenied, match="only a manager"):
        set_charter(database, a["r1"], new, "wrong role")
    with pytest.raises(WorkflowError, match="needs a reason"):
        set_charter(database, a["boss"], new, "  ")
    with pytest.raises(WorkflowError, match="missing: WK4"):
        set_charter(database, a["boss"], Charter(visits=("BASE",)), "drop a visit")
    with pytest.raises(WorkflowError, match="threshold"):
        set_charter(database, a["boss"], Charter(adjudication_threshold_pct=-1.0), "negative")

    view = set_charter(database, a["boss"], new, "SAP v2: 8-point threshold")
    assert get_trial(database).charter == new == view.charter
    ev = database.read(lambda s: s.scalars(select(AuditEvent).where(AuditEvent.entity == "charter")).one())
    assert ev.username == "boss" and ev.reason == "SAP v2: 8-point threshold"
    assert json.loads(json.loads(ev.old_json))["adjudication_threshold_pct"] == 5.0
    assert json.loads(json.loads(ev.new_json))["adjudication_threshold_pct"] == 8.0
    with pytest.raises(WorkflowError, match="same as the current"):
        set_charter(database, a["boss"], new, "again")

    # The new threshold decides: |delta lesion %| = 6 points is concordant under 8 (was discordant under 5).
    generate_worklist(database, a["boss"], seed=2)
    sign_all(database, a["r1"], lambda scan, slot: read_input(10.0, 1.0))
    sign_all(database, a["r2"], lambda scan, slot: read_input(16.0, 1.0))
    assert database.read(lambda s: s.scalars(select(AdjudicationTask)).all()) == []
    with pytest.raises(WorkflowError, match="already signed"):
        set_charter(database, a["boss"], Charter(adjudication_threshold_pct=2.0), "too late")
    assert get_trial(database).charter.adjudication_threshold_pct == 8.0


def test_charter_command_line(trial_db, capsys, monkeypatch):
    _database, url, _a = trial_db
    monkeypatch.setenv("LUNGREAD_PASSWORD", PASSWORD)
    assert main(["trial", "charter", "--db", url]) == 0
    assert "> 5 percentage points" in capsys.readouterr().out
    assert main(["trial", "charter", "--db", url, "--threshold", "7.5", "--user", "boss"]) == 2
    assert "--reason" in capsys.readouterr().err
    assert main(["trial", "charter", "--db", url, "--threshold", "7.5", "--user", "r1", "--reason", "x"]) == 2
    assert "only a manager" in capsys.readouterr().err
    assert main(["trial", "charter", "--db", url, "--threshold", "7.5", "--concordant", "reader1",
                 "--visits", "BASE,WK4", "--user", "boss", "--reason", "SAP v2"]) == 0
    out = capsys.readouterr().out
    assert "changed" in out and "> 7.5 percentage points" in out and "reader1" in out and "BASE, WK4" in out
    assert "mITT population: baseline_and_post" in out
    assert main(["trial", "charter", "--db", url, "--mitt-rule", "randomised", "--user", "boss",
                 "--reason", "SAP v3: ITT"]) == 0
    assert "mITT population: randomised (every randomised subject" in capsys.readouterr().out
    assert get_trial(_database).charter.mitt_rule == "randomised"
    with pytest.raises(WorkflowError, match="mitt_rule must be one of"):
        Charter(mitt_rule="per-protocol")


@pytest.mark.gui
def test_manager_edits_the_charter_in_the_trial_setup_tab(qapp, qtbot, trial_db):
    from PySide6.QtCore import Qt

    from desktop.app.application import create_application
    from desktop.app.session import AppContext
    from desktop.screens.manager import ManagerScreen

    create_application()
    database, url, a = trial_db
    ctx = AppContext(url=url, actor=a["boss"])
    ctx._db = database
    screen = ManagerScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    editor = screen.charter
    qtbot.waitUntil(lambda: editor.charter is not None)
    assert editor.isEnabled() and editor.threshold.value() == 5.0 and editor.concordant.currentText() == "mean"

    editor.threshold.setValue(7.5)
    editor.visits.setText("BASE, WK4, WK12")
    editor.primary_visit.setText("WK12")
    editor.treatment.setText("UC-MSC")
    editor.control.setText("placebo")
    editor.multiplicity.setCurrentText("hierarchy")
    editor.mitt_rule.setCurrentIndex(editor.mitt_rule.findData("baseline"))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert "reason" in editor.message.text()  # the service wants a reason
    assert get_trial(database).charter.adjudication_threshold_pct == 5.0
    qtbot.keyClicks(editor.reason, "SAP amendment 1")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert "saved" in editor.message.text()
    charter = get_trial(database).charter
    assert charter.adjudication_threshold_pct == 7.5 and charter.visits == ("BASE", "WK4", "WK12")
    assert (charter.primary_visit, charter.treatment_arm, charter.control_arm, charter.multiplicity,
            charter.mitt_rule) == ("WK12", "UC-MSC", "placebo", "hierarchy", "baseline")

    generate_worklist(database, a["boss"], seed=2)
    sign_all(database, a["r1"], lambda scan, slot: read_input(10.0, 1.0))
    editor.threshold.setValue(3.0)
    editor.reason.setText("too late")
    assert editor.save() is False and "already signed" in editor.message.text()
    assert editor.message.objectName() == "errorText"
    assert get_trial(database).charter.adjudication_threshold_pct == 7.5
