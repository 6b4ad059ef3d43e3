"""`lungread demo` start-up: the first-run progress window is on screen at once, the demo trial is
created in LUNGREAD_DATA_DIR with its accounts and worklist, then the login dialog appears."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)


def test_demo_first_run_shows_progress_at_once_then_login(qapp, qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication, QProgressDialog

    from desktop.app.application import create_application
    from desktop.app.session import DEMO_PASSWORD, DEMO_USERS, AppContext
    from desktop.demo.first_run import demo_root, is_ready
    from desktop.shell.launcher import Launcher

    create_application()
    launcher = Launcher(AppContext(), demo=True, subjects=1, visits=2, seed=2)
    launcher.start()
    # Before any event processing: the progress window already exists and is visible.
    progress = [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()]
    # (Other tests in the session may leave their own progress dialogs around: look for ours.)
    assert any("demo trial" in w.windowTitle() for w in progress), "the first-run progress window is shown at once"
    qtbot.waitUntil(lambda: launcher.login is not None and launcher.login.isVisible(), timeout=240000)
    root = demo_root()
    assert is_ready(root)
    assert launcher.context.url.endswith("lungread-demo.sqlite")

    from db import services

    database = launcher.context.database()
    for username, role in DEMO_USERS:
        assert services.authenticate(database, username, DEMO_PASSWORD).role == role
    reader = services.authenticate(database, "reader1", DEMO_PASSWORD)
    assert len(services.worklist(database, reader)) == 2  # 1 subject x 2 visits, two reads each
    assert launcher.context.randomization_csv is not None
    launcher.login.close()

    # Second start: no re-creation, the login dialog comes at once.
    again = Launcher(AppContext(), demo=True)
    again.start()
    assert again.login is not None and again.login.isVisible()
    again.login.close()
