"""Crash recovery (the app process is killed during a draft edit) and GUI responsiveness during
the automatic segmentation. Real application, real SQLite file, Xvfb + xcb."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import Qt

from tests.support.desktop import double_click_row, login_reader1, open_case, wait_laid_out, wait_workers_idle

pytestmark = [pytest.mark.gui, pytest.mark.slow]

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


def test_killed_during_a_draft_edit_the_draft_is_restored_and_the_user_told(demo, qtbot):
    context, tasks = demo
    task_id = tasks[0]
    env = dict(os.environ, LUNGREAD_AUTOSAVE_S="0.5", QT_QPA_PLATFORM="xcb", LUNGREAD_NO_3D="1")
    child = subprocess.Popen([sys.executable, "-m", "tests.support.desktop_crash_child", context.url, str(task_id)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    saved = None
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("SAVED"):
                _, revision, digest = line.split()
                saved = (int(revision), digest)
            if line.startswith("EDITING") or line.startswith("TIMEOUT"):
                break
        assert saved is not None, f"the child never autosaved:\n{child.stderr.read() if child.poll() is not None else ''}"
        os.kill(child.pid, signal.SIGKILL)  # a crash in the middle of the second stroke
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    row = screen.worklist.row_of_task(task_id)
    assert screen.worklist.table.item(row, 2).text() == "Draft"
    double_click_row(qtbot, screen.worklist.table, row)
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    assert workspace.loaded.restored_draft
    assert workspace.banner.isVisible() and "restored" in workspace.banner.text()
    assert f"revision {saved[0]}" in workspace.banner.text()
    assert hashlib.sha256(workspace.views.lesions.labels.tobytes()).hexdigest() == saved[1]
    assert workspace.form.comment.toPlainText() == "draft before the crash"
    window.close()
    wait_workers_idle(qtbot)


def test_cancel_during_segmentation_opens_the_case_with_empty_masks(demo, qtbot):
    from PySide6.QtWidgets import QProgressDialog

    context, tasks = demo
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    screen.open_task(tasks[1])
    workspace = screen.workspace
    dialog = workspace.load_worker.dialog
    assert isinstance(dialog, QProgressDialog) and dialog.isVisible()
    qtbot.waitUntil(lambda: "segmentation" in dialog.labelText().lower(), timeout=60000)
    qtbot.mouseClick(dialog.findChild(type(workspace.save_button)), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: workspace.views is not None, timeout=60000)
    assert workspace.loaded.segmentation_cancelled
    assert workspace.views.lungs.labels.max() == 0
    assert "cancelled" in workspace.banner.text()
    window.close()
    wait_workers_idle(qtbot)


def test_gui_thread_keeps_processing_events_during_automatic_segmentation(demo, qtbot):
    from PySide6.QtCore import QTimer

    context, tasks = demo
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    ticks: list[float] = []
    busy: list[bool] = []
    heartbeat = QTimer()
    heartbeat.setInterval(10)

    def beat():
        ws = screen.workspace
        running = ws is not None and ws.load_worker is not None and ws.load_worker.isRunning()
        ticks.append(time.perf_counter())
        busy.append(running)

    heartbeat.timeout.connect(beat)
    heartbeat.start()
    double_click_row(qtbot, screen.worklist.table, screen.worklist.row_of_task(tasks[1]))
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    heartbeat.stop()
    assert not workspace.loaded.restored_draft, "this case was segmented, not restored"
    assert workspace.views.tracker.metrics.lung_ml > 100
    # Gaps between consecutive heartbeats while the worker (loading + segmentation) was running.
    gaps = [b - a for a, b, running in zip(ticks, ticks[1:], busy[1:]) if running]
    print(f"heartbeat during segmentation: {len(gaps)} gaps, max {max(gaps) * 1000:.0f} ms")
    assert len(gaps) >= 20, "the worker ran long enough to measure"
    assert max(gaps) < 0.200, f"GUI thread blocked for {max(gaps) * 1000:.0f} ms during segmentation"
    window.close()
    wait_workers_idle(qtbot)


def test_keyboard_shortcuts_of_the_workspace_and_help_list(demo, qtbot):
    import numpy as np

    from db import services
    from desktop.reading.shortcuts import SHORTCUTS, ShortcutsDialog
    from tests.support.desktop import drag, when_dialog

    context, tasks = demo
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    screen.open_task(tasks[1])
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    views = workspace.views
    wait_laid_out(qtbot, views)
    axial = views.views["axial"].vtk_widget
    for key, (level, width), name in ((Qt.Key.Key_2, (40.0, 400.0), "mediastinum"),
                                      (Qt.Key.Key_3, (400.0, 1800.0), "bone"),
                                      (Qt.Key.Key_1, (-600.0, 1500.0), "lung")):
        qtbot.keyClick(axial, key)
        for view in views.views.values():
            assert view.scene.window_level == (level, width)
        assert workspace.wl_bar.buttons[name].isChecked()
    for key, mode in ((Qt.Key.Key_E, "erase"), (Qt.Key.Key_G, "grow"), (Qt.Key.Key_I, "island"),
                      (Qt.Key.Key_B, "paint")):
        qtbot.keyClick(axial, key)
        assert views.tools.mode == mode and workspace.palette.buttons[mode].isChecked()
    z = views.views["axial"].scene.slice_index
    ys, xs = np.nonzero((views.lungs.labels[z] > 0) & (views.lesions.labels[z] == 0))
    before = views.lesions.labels.copy()
    pick = np.linspace(0, len(xs) - 1, 5).astype(int)
    drag(views.views["axial"], [np.array([z, ys[i], xs[i]], float) for i in pick])
    after = views.lesions.labels.copy()
    assert (after != before).sum() > 0
    assert "Paint" in workspace.palette.undo_button.toolTip()
    qtbot.keyClick(axial, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(views.lesions.labels, before)
    qtbot.keyClick(axial, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(views.lesions.labels, after)
    revision = services.open_task(context.database(), context.actor, tasks[1]).draft
    revision = 0 if revision is None else revision.revision
    qtbot.keyClick(axial, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    draft = services.open_task(context.database(), context.actor, tasks[1]).draft
    assert draft.revision == revision + 1 and np.array_equal(draft.lesion_labels, after)

    seen = {}

    def read_help(dialog):
        from PySide6.QtWidgets import QTableWidget

        table = dialog.findChild(QTableWidget)
        seen["keys"] = [table.item(r, 0).text() for r in range(table.rowCount())]
        dialog.accept()

    state = when_dialog(ShortcutsDialog, read_help)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert state["done"]
    assert seen["keys"] == [k for k, _ in SHORTCUTS]
    for key in ("1", "2", "3", "B", "E", "G", "I", "Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+S", "Ctrl+Return"):
        assert key in seen["keys"]
    window.close()
    wait_workers_idle(qtbot)


def test_not_evaluable_is_signed_with_its_reason(demo, qtbot):
    from db import services
    from db.models import Read
    from desktop.reading.read_form import NOT_EVALUABLE_REASONS
    from tests.support.desktop import when_dialog

    context, tasks = demo
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    screen.open_task(tasks[1])
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    form = workspace.form
    form.not_evaluable.click()
    assert form.reason.isEnabled() and not form.confidence.isEnabled()
    form.reason.setCurrentIndex(2)
    form.comment.setPlainText("apices cut off")

    from desktop.reading.sign_dialog import SignDialog

    def sign(dialog):
        assert "not evaluable" in dialog.summary.text()
        qtbot.keyClicks(dialog.password_edit, "lungread")
        qtbot.mouseClick(dialog.sign_button, Qt.MouseButton.LeftButton)

    state = when_dialog(SignDialog, sign)
    qtbot.mouseClick(workspace.sign_button, Qt.MouseButton.LeftButton)
    assert state["done"]
    row = context.database().read(lambda s: s.query(Read).filter(Read.task_id == tasks[1],
                                                                    Read.status == "signed").one())
    assert row.not_evaluable_reason == NOT_EVALUABLE_REASONS[2]
    assert row.comment == "apices cut off"
    statuses = {t.task_id: t.status for t in services.worklist(context.database(), context.actor)}
    assert statuses[tasks[1]] == "signed"
    # the other (draft) case opens next, by itself
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.case.task_id == tasks[0], timeout=120000)
    # the worklist says it was signed as not evaluable, and why (not a plain "Signed")
    screen.worklist.refresh()
    row_text = screen.worklist.table.item(screen.worklist.row_of_task(tasks[1]), 2).text()
    assert row_text == f"Signed: not evaluable ({NOT_EVALUABLE_REASONS[2]})"
    assert screen.worklist.table.item(screen.worklist.row_of_task(tasks[0]), 2).text() == "New"
    # a form in a narrow side panel still shows its whole labels
    assert form.normal_no.width() >= form.normal_no.sizeHint().width()
    window.close()
    wait_workers_idle(qtbot)


def test_lock_during_an_edit_the_reader_is_told_and_can_always_leave(demo, qtbot):
    """Issue 15's lock trap: a reader edits a draft, the manager locks the database, the reader
    paints once more. The save is refused: the case turns read-only and says why, the reader gets
    back to the worklist (which shows the lock), cases open read-only, and the last saved draft
    is what the database holds."""
    import numpy as np

    from db import services
    from desktop.app.session import DEMO_PASSWORD
    from tests.support.desktop import drag

    context, tasks = demo
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    workspace = open_case(qtbot, screen, tasks[0])
    database = context.database()
    assert services.open_task(database, context.actor, tasks[0]).draft is None, "opening alone makes no draft"
    views = workspace.views

    def stroke(offset: int) -> None:
        z = views.views["axial"].scene.slice_index
        ys, xs = np.nonzero((views.lungs.labels[z] > 0) & (views.lesions.labels[z] == 0))
        pick = np.linspace(offset, len(xs) - 1 - offset, 5).astype(int)
        drag(views.views["axial"], [np.array([z, ys[i], xs[i]], float) for i in pick])

    workspace.palette.select_tool("paint")
    stroke(0)
    revision = workspace.save_draft_now()
    saved = services.open_task(database, context.actor, tasks[0]).draft
    assert revision and saved.revision == revision

    manager = services.authenticate(database, "manager", DEMO_PASSWORD)
    services.lock_database(database, manager, override_reason="interim analysis (test)")
    workspace.palette.select_tool("paint")
    stroke(3)  # an edit after the lock: it can never be saved
    assert workspace.autosaver.dirty
    qtbot.mouseClick([b for b in workspace.findChildren(type(workspace.save_button)) if "Worklist" in b.text()][0],
                     Qt.MouseButton.LeftButton)
    # Back at the worklist, told why; nothing was written after the lock.
    qtbot.waitUntil(lambda: screen.currentWidget() is screen.worklist)
    assert workspace.refusal and "locked" in workspace.refusal and "cannot be stored" in workspace.banner.text()
    assert screen.worklist.lock_banner.isVisible() and "locked" in screen.worklist.lock_banner.text()
    assert not screen.worklist.open_next.isEnabled()
    after = services.open_task(database, context.actor, tasks[0]).draft
    assert after.revision == revision and after.metrics == saved.metrics
    assert np.array_equal(after.lesion_labels, saved.lesion_labels)
    # The case opens read-only with every edit tool off, and the reader leaves by sign-out.
    double_click_row(qtbot, screen.worklist.table, screen.worklist.row_of_task(tasks[0]))
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.wl_bar.isEnabled(), timeout=120000)
    assert workspace.read_only and "locked" in workspace.banner.text()
    assert not workspace.sign_button.isEnabled() and not workspace.save_button.isEnabled()
    assert not workspace.palette.buttons["paint"].isEnabled() and workspace.views.tools is None
    signed_out: list[bool] = []
    window.signed_out.connect(lambda: signed_out.append(True))
    window.sign_out()
    assert signed_out == [True]
    wait_workers_idle(qtbot)


def test_a_case_whose_stored_images_changed_is_refused_with_a_message(demo, qtbot):
    """Someone with write access replaced a case's image-store copy: the reader's load worker
    re-checks the hash, shows why, and never shows the images; the other case still opens."""
    import shutil

    from PySide6.QtWidgets import QApplication, QMessageBox

    from db import services
    from desktop.app.session import DEMO_PASSWORD

    context, tasks = demo
    reader = services.authenticate(context.database(), "reader1", DEMO_PASSWORD)
    mine = services.open_task(context.database(), reader, tasks[0], with_masks=False).series_files
    other = services.open_task(context.database(), reader, tasks[1], with_masks=False).series_files
    for a, b in zip(mine, other):  # the second visit's images under the first visit's names
        a.chmod(0o644)
        shutil.copyfile(b, a)
    window = login_reader1(qtbot, context)
    screen = window.role_screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 2)
    screen.open_task(tasks[0])

    def refusal() -> QMessageBox | None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        return boxes[0] if boxes else None

    qtbot.waitUntil(lambda: refusal() is not None, timeout=60000)
    box = refusal()
    assert "changed since they were imported" in box.text() + box.informativeText()
    assert screen.workspace.views is None
    box.accept()
    open_case(qtbot, screen, tasks[1])
    assert screen.workspace.views is not None
    window.close()
    wait_workers_idle(qtbot)
