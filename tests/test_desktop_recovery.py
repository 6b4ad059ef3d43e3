"""Crash recovery (the app process is killed during a draft edit) and GUI responsiveness during
the automatic segmentation. Real application, real SQLite file, Xvfb + xcb."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.desktop_helpers import double_click_row

pytestmark = [pytest.mark.gui, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(qapp, monkeypatch):
    """A one-scan demo trial in the test's LUNGREAD_DATA_DIR; returns (context, reader1 task id)."""
    from db import services

    from desktop.app import create_application
    from desktop.demo_setup import create_demo, demo_root, demo_url
    from desktop.session import DEMO_PASSWORD, AppContext

    monkeypatch.setenv("LUNGREAD_NO_3D", "1")
    create_application()
    root = demo_root()
    create_demo(root, subjects=1, visits=1, seed=11)
    context = AppContext(url=demo_url(root), demo_root=root)
    actor = services.authenticate(context.database(), "reader1", DEMO_PASSWORD)
    task_id = services.worklist(context.database(), actor)[0].task_id
    return context, task_id


def _login_reader1(qtbot, context):
    from db import services

    from desktop.main_window import MainWindow
    from desktop.session import DEMO_PASSWORD

    context.actor = services.authenticate(context.database(), "reader1", DEMO_PASSWORD)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_killed_during_a_draft_edit_the_draft_is_restored_and_the_user_told(demo, qtbot):
    context, task_id = demo
    env = dict(os.environ, LUNGREAD_AUTOSAVE_S="0.5", QT_QPA_PLATFORM="xcb", LUNGREAD_NO_3D="1")
    child = subprocess.Popen([sys.executable, "-m", "tests.desktop_crash_child", context.url, str(task_id)],
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

    window = _login_reader1(qtbot, context)
    screen = window.screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 1)
    assert screen.worklist.table.item(0, 2).text() == "Draft"
    double_click_row(qtbot, screen.worklist.table, 0)
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    assert workspace.loaded.restored_draft
    assert workspace.banner.isVisible() and "restored" in workspace.banner.text()
    assert f"revision {saved[0]}" in workspace.banner.text()
    assert hashlib.sha256(workspace.views.lesions.labels.tobytes()).hexdigest() == saved[1]
    assert workspace.form.comment.toPlainText() == "draft before the crash"
    window.close()


def test_gui_thread_keeps_processing_events_during_automatic_segmentation(demo, qtbot):
    from PySide6.QtCore import QTimer

    context, task_id = demo
    window = _login_reader1(qtbot, context)
    screen = window.screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 1)
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
    double_click_row(qtbot, screen.worklist.table, 0)
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    heartbeat.stop()
    assert not workspace.loaded.restored_draft, "this case was segmented, not restored"
    assert workspace.views.tracker.metrics.lung_ml > 100
    # Gaps between consecutive heartbeats while the worker (loading + segmentation) was running.
    gaps = [b - a for a, b, running in zip(ticks, ticks[1:], busy[1:]) if running]
    assert len(gaps) >= 20, "the worker ran long enough to measure"
    assert max(gaps) < 0.200, f"GUI thread blocked for {max(gaps) * 1000:.0f} ms during segmentation"
    window.close()


def test_cancel_during_segmentation_opens_the_case_with_empty_masks(demo, qtbot):
    from PySide6.QtWidgets import QProgressDialog

    context, task_id = demo
    window = _login_reader1(qtbot, context)
    screen = window.screen
    qtbot.waitUntil(lambda: screen.worklist.table.rowCount() == 1)
    screen.open_task(task_id)
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
