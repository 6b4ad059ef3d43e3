"""End-to-end GUI test on a demo trial: reader1, reader2, adjudicator, manager, statistician.

Real widgets under Xvfb (xcb), real mouse and keyboard events, a real SQLite file created by the
demo set-up in a temp LUNGREAD_DATA_DIR. PHI strings are planted in the DICOM headers before the
import; every reader/adjudicator screen is walked for them, for subject codes, visit names and arms.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.support.desktop import (
    all_window_texts,
    assert_no_forbidden,
    double_click_row,
    drag,
    wait_laid_out,
    wait_workers_idle,
    when_dialog,
)

pytestmark = [pytest.mark.gui, pytest.mark.slow]

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)

PASSWORD = "lungread"
PHI = {
    "PatientName": "Zyxwv^Plantedname",
    "PatientID": "PIDPLANT7731",
    "InstitutionName": "Planted General Hospital",
    "ReferringPhysicianName": "Doctor^Plantref",
    "AccessionNumber": "ACCPLANT5521",
    "StudyDescription": "STUDYPLANTDESC",
    "SeriesDescription": "SERIESPLANTDESC",
}
_CASE_CODE = re.compile(r"\b[A-Z2-9]{3}-[A-Z2-9]{4}\b")


def plant_phi(trial) -> None:
    import pydicom

    for path in sorted(trial.root.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        for key, value in PHI.items():
            setattr(ds, key, value)
        ds.PatientBirthDate = "19230417"
        ds.save_as(path)


def forbidden_strings(trial) -> list[str]:
    import csv

    with open(trial.manifest, newline="") as fh:
        rows = list(csv.DictReader(fh))
    words = set(PHI.values()) | {"Zyxwv", "Plantedname", "19230417", "Placebo"}
    words |= {r["subject"] for r in rows} | {r["visit"] for r in rows}
    words |= {r["study_date"] for r in rows if r.get("study_date")}
    return sorted(words)


def check_blinded(where: str, forbidden: list[str]) -> None:
    texts = [_CASE_CODE.sub("", t) for t in all_window_texts()]
    assert texts, "nothing to check"
    assert_no_forbidden(texts, forbidden, where)
    joined = "\n".join(texts)
    assert not re.search(r"\bMSC\b", joined), f"{where}: arm name MSC shown"


def login(qtbot, context, username):
    from desktop.shell.login import LoginDialog
    from desktop.shell.main_window import MainWindow

    context.actor = None
    dialog = LoginDialog(context)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.result() == dialog.DialogCode.Accepted, timeout=15000)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # keyboard shortcuts need the active window
    return window


def sign_with_dialog(qtbot, click_button, forbidden):
    """Click a button that opens the e-signature dialog; check it is blinded; type the password;
    press Sign."""
    from desktop.reading.sign_dialog import SignDialog

    problems = []

    def fill(dialog):
        try:  # never leave the modal dialog open on a failed check: record it, assert after
            check_blinded("e-signature dialog", forbidden)
            assert "Electronic signature" in all_window_texts()
        except AssertionError as exc:
            problems.append(exc)
        qtbot.keyClicks(dialog.password_edit, PASSWORD)
        qtbot.mouseClick(dialog.sign_button, Qt.MouseButton.LeftButton)

    state = when_dialog(SignDialog, fill)
    click_button()
    assert state["done"], "the e-signature dialog was shown"
    assert not problems, problems[0]


def lung_points(views, z, count=6, side=None):
    """Voxels inside the lungs on axial slice z, spread along x (for a drag path)."""
    lungs = views.lungs.labels[z]
    free = views.lesions.labels[z] == 0
    ys, xs = np.nonzero((lungs == side if side else lungs > 0) & free)
    order = np.argsort(xs)
    pick = order[np.linspace(len(order) * 0.15, len(order) * 0.45, count).astype(int)]
    return [np.array([z, ys[i], xs[i]], dtype=float) for i in pick]


def open_case_and_wait(qtbot, screen, row):
    double_click_row(qtbot, screen.worklist.table, row)
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    return workspace


def test_demo_trial_end_to_end(qapp, qtbot, tmp_path, monkeypatch):
    import db
    from db import services
    from db.models import AdjudicationTask, Read, ReadTask
    from desktop.app.application import create_application
    from desktop.app.session import AppContext
    from desktop.demo.first_run import create_demo, demo_root, demo_url

    monkeypatch.delenv("LUNGREAD_NO_3D", raising=False)  # the 3D view on, as users run it
    create_application()
    root = demo_root()
    planted = {}
    create_demo(root, subjects=2, visits=2, seed=3,
                before_import=lambda trial: (plant_phi(trial), planted.setdefault("trial", trial)))
    trial = planted["trial"]
    forbidden = forbidden_strings(trial)
    context = AppContext(url=demo_url(root), demo_root=root)
    database = context.database()

    # --- 1. reader1: open the first case, wait for segmentation, paint a stroke, sign -------------
    window = login(qtbot, context, "reader1")
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() > 0)
    assert screen.worklist.done_label.text() == f"0 of {screen.worklist.table.rowCount()} done"
    check_blinded("reader1 worklist", forbidden)
    task1 = screen.worklist.tasks[0]
    workspace = open_case_and_wait(qtbot, screen, 0)
    assert workspace.case.task_id == task1.task_id
    import pydicom

    # The files the reader's app loads are the image store's de-identified copy; positive controls:
    # the site's files do carry the planted PHI, and the walker does see the screen's texts (case
    # code in the title and worklist).
    loaded = pydicom.dcmread(workspace.case.series_files[0])
    assert str(loaded.PatientName) == "LUNGREAD^BLINDED" and "InstitutionName" not in loaded
    assert str(pydicom.dcmread(next(trial.root.rglob("*.dcm"))).PatientName) == PHI["PatientName"]
    assert any(task1.case_code in t for t in all_window_texts())
    check_blinded("reader1 workspace", forbidden)
    views = workspace.views
    wait_laid_out(qtbot, views)
    # Quality control of the automatic result is shown: the demo phantom has 3 mm slices.
    assert workspace.metrics.qc.isVisible()
    assert "thicker than the 2.5 mm" in workspace.metrics.qc.text()
    before = views.lesions.labels.copy()
    lesion_text = workspace.metrics.text_of("lesion_pct")
    qtbot.mouseClick(workspace.palette.buttons["paint"], Qt.MouseButton.LeftButton)
    assert views.tools.mode == "paint"
    z = views.views["axial"].scene.slice_index
    drag(views.views["axial"], lung_points(views, z))
    painted = (views.lesions.labels > 0) & (before == 0)
    assert painted.sum() > 20, "the stroke painted lesion voxels"
    assert workspace.metrics.text_of("lesion_pct") != lesion_text
    assert workspace.palette.undo_button.isEnabled()
    qtbot.mouseClick(workspace.form.normal_no, Qt.MouseButton.LeftButton)
    workspace.form.confidence.setCurrentIndex(4)
    painted_lesions = views.lesions.labels.copy()
    sign_with_dialog(qtbot, lambda: qtbot.mouseClick(workspace.sign_button, Qt.MouseButton.LeftButton),
                     forbidden)
    # the next case opens automatically
    qtbot.waitUntil(lambda: workspace.case is not None and workspace.case.task_id != task1.task_id,
                    timeout=120000)

    def read_of(task_id):
        def work(s):
            row = s.query(Read).filter(Read.task_id == task_id, Read.status == "signed").one()
            return row.id, row.lesion_pct, row.normal_ct, row.metrics_json
        return database.read(work)

    r1_id, r1_pct, r1_normal, r1_metrics = read_of(task1.task_id)
    assert r1_normal is False
    # ... and stored with the signed read (covered by the signature, exported with it)
    assert "thick_slices" in json.loads(r1_metrics)["qc_flags"].split(";")
    signed_masks = services.open_task(database, context.actor, task1.task_id).draft.lesion_labels
    assert np.array_equal(signed_masks, painted_lesions), "the signed read holds the painted mask"
    scan_id = database.read(lambda s: s.get(ReadTask, task1.task_id).scan_id)
    window.sign_out()
    wait_workers_idle(qtbot)
    qtbot.waitUntil(lambda: not window.isVisible())

    # --- 2. reader2: same scan, a large edit -> adjudication -------------------------------------
    window = login(qtbot, context, "reader2")
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() > 0)
    task2_id = database.read(lambda s: s.query(ReadTask.id).filter(
        ReadTask.scan_id == scan_id, ReadTask.id != task1.task_id).scalar())
    workspace = open_case_and_wait(qtbot, screen, screen.worklist.row_of_task(task2_id))
    check_blinded("reader2 workspace", forbidden)
    views = workspace.views
    wait_laid_out(qtbot, views)
    sphere = workspace.palette.sphere
    qtbot.mouseClick(sphere, Qt.MouseButton.LeftButton, pos=QPoint(8, sphere.height() // 2))
    assert sphere.isChecked() and views.editor.brush_shape == "sphere"
    workspace.palette.radius.setValue(40.0)
    qtbot.keyClick(views.views["axial"].vtk_widget, Qt.Key.Key_B)
    assert views.tools.mode == "paint"
    z = views.views["axial"].scene.slice_index
    for side in (1, 2):
        drag(views.views["axial"], lung_points(views, z, side=side))
    pct = views.tracker.metrics.lesion_pct
    assert abs(pct - r1_pct) > 5.0, f"large edit: {pct:.1f} vs reader1 {r1_pct:.1f}"
    qtbot.mouseClick(workspace.form.normal_no, Qt.MouseButton.LeftButton)
    workspace.form.confidence.setCurrentIndex(3)
    sign_with_dialog(qtbot, lambda: qtbot.keyClick(workspace, Qt.Key.Key_Return,
                                                   Qt.KeyboardModifier.ControlModifier), forbidden)
    qtbot.waitUntil(lambda: database.read(lambda s: s.query(AdjudicationTask).count()) == 1, timeout=30000)
    r2_id = read_of(task2_id)[0]
    window.sign_out()
    wait_workers_idle(qtbot)

    # --- 3. adjudicator selects Read B --------------------------------------------------------
    window = login(qtbot, context, "adjudicator")
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.queue.count() == 1)
    item = screen.queue.item(0)
    rect = screen.queue.visualItemRect(item)
    qtbot.mouseClick(screen.queue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(screen.queue.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: screen.select_b.isEnabled(), timeout=60000)
    check_blinded("adjudication screen", forbidden)
    read_b = screen.view_data.read_b
    assert np.array_equal(screen.panel_b.layers.lesions.labels, read_b.lesion_labels)
    # linked scrolling: the wheel/keys in A move B
    a_view, b_view = screen.panel_a.view, screen.panel_b.view
    qtbot.keyClick(a_view.vtk_widget, Qt.Key.Key_PageUp)
    assert b_view.scene.slice_index == a_view.scene.slice_index
    # the decision needs its reason and rationale: refused without them (nothing signed)
    from PySide6.QtWidgets import QMessageBox

    refused = when_dialog(QMessageBox, lambda box: box.accept())
    qtbot.mouseClick(screen.select_b, Qt.MouseButton.LeftButton)
    assert refused["done"] and database.read(lambda s: s.query(AdjudicationTask).one()).status == "open"
    screen.reason.setCurrentIndex(screen.reason.findData("lesion extent"))
    qtbot.keyClicks(screen.rationale, "Read A counts the basal atelectasis as lesion")
    sign_with_dialog(qtbot, lambda: qtbot.mouseClick(screen.select_b, Qt.MouseButton.LeftButton), forbidden)
    adj = database.read(lambda s: s.query(AdjudicationTask).one())
    assert adj.status == "decided" and adj.choice == "B"
    assert (adj.rationale_reason, adj.rationale) == ("lesion extent", "Read A counts the basal atelectasis as lesion")
    expected_b = r2_id if database.read(lambda s: s.get(AdjudicationTask, adj.id).read_b_id) == r2_id else r1_id
    assert adj.chosen_read_id == expected_b
    value = services.endpoint_value(database, scan_id)
    assert value.status == "adjudicated" and value.source_read_ids == (expected_b,)
    window.sign_out()
    wait_workers_idle(qtbot)

    # --- 4. manager locks (with confirmation and an override reason: other cases are unread) ----
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    window = login(qtbot, context, "manager")
    screen = window.role_screen
    screen.setCurrentIndex(4)

    def yes(box):
        box.button(QMessageBox.StandardButton.Yes).click()

    def reason(dialog):
        dialog.setTextValue("end of demo reading session")
        dialog.accept()

    s1 = when_dialog(QMessageBox, yes)
    s2 = when_dialog(QInputDialog, reason)
    qtbot.mouseClick(screen.lock_button, Qt.MouseButton.LeftButton)
    assert s1["done"] and s2["done"]
    lock = services.lock_status(database)
    assert lock is not None and lock.locked_by == "manager"
    assert lock.override_reason == "end of demo reading session"
    assert not screen.lock_button.isEnabled()
    window.sign_out()
    wait_workers_idle(qtbot)

    # --- 5. statistician unblinds and sees the endpoint table --------------------------------
    from PySide6.QtWidgets import QFileDialog

    window = login(qtbot, context, "statistician")
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.unblind_button.isEnabled())
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(trial.randomization), "CSV (*.csv)")))
    qtbot.mouseClick(screen.unblind_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.result is not None, timeout=60000)
    assert not screen.unblind_button.isEnabled()
    table = screen.endpoint_table
    assert table.rowCount() > 0
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert "HL shift" in header and any("MSC" in h for h in header)
    values = services.endpoint_table(database, context.actor)
    assert {v.arm for v in values} <= {"MSC", "Placebo"} and all(v.arm for v in values)
    # exports: tables, figures and report (worker), and reads.csv with arms
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path / "out")))
    qtbot.mouseClick(screen.export_tables, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: (tmp_path / "out" / "report.pdf").is_file(), timeout=120000)
    assert "LESPCT" in (tmp_path / "out" / "adqct.csv").read_text()
    reads = screen.export_reads_csv(tmp_path / "reads.csv")
    assert "MSC" in reads.read_text() or "Placebo" in reads.read_text()
    window.close()
    db_check = db.connect(demo_url(root))
    assert services.verify_audit_trail(db_check).ok
