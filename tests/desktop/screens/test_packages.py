"""Reading packages in the application (issue 8, "In the application"), with real widgets under Xvfb:
the manager's "Reading packages" tab exports and imports (tampered: refused and listed, master
unchanged; clean: merged), File → Open reading package signs in to the package database, and the
statistician's Figures tab shows the Bland–Altman plot of the read pairs."""

from __future__ import annotations

import json
import shutil

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

pytestmark = pytest.mark.gui

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)


@pytest.fixture
def app(qapp):
    from desktop.app.application import create_application

    return create_application()


@pytest.fixture
def master(tmp_path):
    from tests.support.db_trial import write_mini_trial
    from tests.support.packages import build_master

    trial = write_mini_trial(tmp_path / "trial", ["S1", "S2", "S3"], ["V1", "V2"])
    m = build_master(tmp_path / "master.sqlite", trial.manifest)
    m.trial = trial  # type: ignore[attr-defined]
    yield m
    m.db.dispose()


def _context(database, actor):
    from desktop.app.session import AppContext

    ctx = AppContext(url=database.url)
    ctx._db = database
    ctx.actor = actor
    return ctx


def _manager_tab(qtbot, master):
    from desktop.screens.manager import ManagerScreen

    screen = ManagerScreen(_context(master.db, master.boss))
    qtbot.addWidget(screen)
    screen.resize(1100, 700)
    screen.show()
    qtbot.waitExposed(screen)
    index = [screen.tabText(i) for i in range(screen.count())].index("Reading packages")
    screen.setCurrentIndex(index)
    tab = screen.packages
    qtbot.waitUntil(lambda: tab.reader.findText("r1") >= 0, timeout=10000)
    return screen, tab


def _click_and_wait(qtbot, tab, button, done):
    from tests.support.desktop import wait_workers_idle

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert tab.worker is not None and tab.worker.dialog.isVisible()  # progress dialog shown at once
    wait_workers_idle(qtbot, 60000)
    qtbot.waitUntil(lambda: done(tab.report.toPlainText()), timeout=30000)
    return tab.report.toPlainText()


def test_manager_exports_then_refuses_a_tampered_and_merges_a_clean_package(app, qtbot, master, tmp_path):
    from sqlalchemy import func, select

    from db.models import Read, ReadTask, User
    from tests.support.packages import sign_offline, snapshot

    screen, tab = _manager_tab(qtbot, master)
    # Only reader accounts are offered.
    assert [tab.reader.itemText(i) for i in range(tab.reader.count())] == ["r1", "r2"]

    # --- export for r1 -------------------------------------------------------------------------
    tab.reader.setCurrentText("r1")
    tab.export_path.setText(str(tmp_path / "pkg"))
    text = _click_and_wait(qtbot, tab, tab.export_button, lambda t: t.startswith("Package "))
    pkg = tmp_path / "pkg"
    assert (pkg / "manifest.json").is_file() and (pkg / "reading.sqlite").is_file()
    body = json.loads((pkg / "manifest.json").read_text())["body"]
    n_cases = len(body["tasks"])
    r1_tasks = master.db.read(lambda s: s.scalar(select(func.count()).select_from(ReadTask).join(
        User, User.id == ReadTask.reader_id).where(User.username == "r1")))
    assert n_cases == r1_tasks > 0
    assert body["package_id"] in text and f"cases: {n_cases}" in text and str(pkg) in text
    assert f"files: {len(body['files'])}" in text
    from db.packages.unlock import package_unlock_code

    assert "Unlock code (only if the reader's account locks" in text
    assert package_unlock_code(master.db, master.boss, body["package_id"]) in text
    assert tab.export_button.isEnabled() and tab.import_button.isEnabled()

    # --- the reader signs offline; a copy has one DICOM file replaced ---------------------------
    sign_offline(pkg, "r1", lambda code: 12.5)
    bad = tmp_path / "pkg_bad"
    shutil.copytree(pkg, bad)
    files = sorted((bad / "images").rglob("*.dcm"))
    shutil.copy2(files[1], files[0])  # a valid DICOM file, just not the exported one
    replaced = files[0].relative_to(bad).as_posix()

    before = snapshot(master.db)
    tab.import_path.setText(str(bad))
    text = _click_and_wait(qtbot, tab, tab.import_button, lambda t: t.startswith("Import refused"))
    assert replaced in text and "nothing was imported" in text
    assert "Traceback" not in text
    assert snapshot(master.db) == before, "a refused package changed the master database"
    assert tab.grab().save(str(tmp_path / "package_tab_refused.png"))

    # --- the clean package merges ---------------------------------------------------------------
    tab.import_path.setText(str(pkg))
    text = _click_and_wait(qtbot, tab, tab.import_button, lambda t: t.startswith("Import done"))
    assert f"merged {n_cases} signed read(s)" in text
    signed = master.db.read(lambda s: s.scalar(select(func.count()).select_from(Read).where(Read.status == "signed")))
    assert signed == n_cases
    assert snapshot(master.db) != before
    # The progress dashboard refreshed after the import.
    qtbot.waitUntil(lambda: "signed" in screen.summary.text())

    # --- again: nothing new, said so ------------------------------------------------------------
    after = snapshot(master.db)
    text = _click_and_wait(qtbot, tab, tab.import_button, lambda t: t.startswith("Import checked"))
    assert "nothing new" in text and snapshot(master.db) == after

    # A path that is not a package: plain message in the report area.
    tab.import_path.setText(str(tmp_path / "trial"))
    text = _click_and_wait(qtbot, tab, tab.import_button, lambda t: t.startswith("Import failed"))
    assert "not" in text and "Traceback" not in text

    # Screenshot for the dark-theme check (kept under the test's tmp folder).
    shot = tab.grab()
    assert shot.save(str(tmp_path / "package_tab.png"))
    dark = shot.toImage().pixelColor(5, shot.height() - 5)
    assert dark.lightness() < 80, "the tab is not drawn in the dark theme"


def test_file_open_reading_package_signs_in_to_the_package_database(app, qtbot, master, tmp_path):
    from db import services
    from db.packages.export import export_package
    from desktop.screens.reader import ReaderScreen
    from desktop.shell.launcher import Launcher
    from desktop.shell.login import LoginDialog
    from tests.support.db_trial import PASSWORD

    report = export_package(master.db, master.boss, "r2", tmp_path / "pkg2.zip", zip_package=True)
    launcher = Launcher(_context(master.db, master.boss))
    launcher._signed_in()  # the manager is signed in to the master database
    window = launcher.main_window  # owned by the launcher, which deletes it on leaving
    actions = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Open reading package…" in actions

    window.open_package(str(report.path))
    qtbot.waitUntil(lambda: isinstance(launcher.login, LoginDialog) and launcher.login.isVisible(), timeout=30000)
    assert launcher.main_window is None
    assert launcher.context.url.endswith("pkg2/reading.sqlite"), launcher.context.url
    dialog = launcher.login
    qtbot.keyClicks(dialog.username, "r2")
    qtbot.keyClicks(dialog.password, PASSWORD)
    qtbot.mouseClick(dialog.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: launcher.main_window is not None, timeout=30000)
    reader_window = launcher.main_window
    qtbot.addWidget(reader_window)
    assert isinstance(reader_window.role_screen, ReaderScreen)
    assert launcher.context.actor.username == "r2"
    tasks = services.worklist(launcher.context.database(), launcher.context.actor)
    assert len(tasks) == report.n_tasks > 0
    table = reader_window.role_screen.worklist.table
    qtbot.waitUntil(lambda: table.rowCount() == report.n_tasks, timeout=10000)
    shown = {table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())
             if table.item(r, c) is not None}
    assert {t.case_code for t in tasks} <= shown
    reader_window.closed.disconnect()
    reader_window._signing_out = True
    reader_window.close()
    launcher.context.database().dispose()


def test_login_dialog_opens_a_reading_package_without_signing_in_first(app, qtbot, master, tmp_path):
    """A reader whose default database has no account for them opens the package from the login."""
    from db.packages.export import export_package
    from desktop.shell.launcher import Launcher
    from desktop.shell.login import LoginDialog

    report = export_package(master.db, master.boss, "r1", tmp_path / "pkg1", zip_package=False)
    launcher = Launcher(_context(master.db, master.boss))
    launcher.show_login()
    first = launcher.login
    qtbot.waitUntil(first.isVisible)
    assert first.findChild(QPushButton, "openPackage") is not None
    first.open_package(str(report.path / "manifest.json"))  # what the file dialog returns
    qtbot.waitUntil(lambda: launcher.login is not first and isinstance(launcher.login, LoginDialog)
                    and launcher.login.isVisible(), timeout=30000)
    assert launcher.context.url.endswith("pkg1/reading.sqlite"), launcher.context.url
    assert not shiboken6.isValid(first) or not first.isVisible()  # the first dialog is gone
    second = launcher.login
    second.rejected.disconnect(launcher._login_closed)  # closing it must not quit the test's app
    second.close()
    second.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(second))
    launcher.context.database().dispose()


def test_statistician_figures_include_bland_altman_of_the_read_pairs(app, qtbot, master):
    from db import services
    from desktop.screens.statistician import StatisticianScreen
    from tests.support.db_trial import ACCOUNTS, PASSWORD, read_input
    from tests.support.packages import MEANING, scan_of_case

    # Every reader signs every task (reader 2 reads 3 points higher), the manager locks, unblind.
    scan_of = scan_of_case(master.db)
    for name, role in ACCOUNTS.items():
        if role not in ("reader", "adjudicator"):
            continue
        actor = master.actors[name]
        for i, task in enumerate(services.worklist(master.db, actor)):
            pct = 10.0 + scan_of[task.case_code] + (3.0 if name == "r2" else 0.0)
            services.sign_read(master.db, actor, task.task_id, read_input(pct, pct / 4), PASSWORD, MEANING)
    services.lock_database(master.db, master.boss, override_reason="test: adjudications not needed")
    stat = master.actors["stat"]
    services.unblind(master.db, stat, master.trial.randomization)

    screen = StatisticianScreen(_context(master.db, stat))
    qtbot.addWidget(screen)
    screen.resize(1100, 750)
    screen.show()
    # The arms' names say nothing of which is the treatment: the screen offers them and waits.
    qtbot.waitUntil(lambda: screen.treatment_choice.count() == 2)
    assert screen.treatment_choice.isVisible() and screen.chosen_arms() == (None, None)
    qtbot.mouseClick(screen.compute_button, Qt.MouseButton.LeftButton)
    assert "Choose the treatment and the control arm" in screen.state.text() and screen.result is None
    screen.treatment_choice.setCurrentText("ARM-BETA")
    screen.control_choice.setCurrentText("ARM-ALPHA")
    with qtbot.waitSignal(screen.analysis_ready, timeout=60000):
        qtbot.mouseClick(screen.compute_button, Qt.MouseButton.LeftButton)
    assert (screen.result.treatment, screen.result.control) == ("ARM-BETA", "ARM-ALPHA")
    assert screen.tabs.tabText(0) == "Endpoints (ARM-BETA − ARM-ALPHA)"
    tabs = [screen.tabs.tabText(i) for i in range(screen.tabs.count())]
    screen.tabs.setCurrentIndex(tabs.index("Figures"))
    items = [screen.figure_choice.itemText(i) for i in range(screen.figure_choice.count())]
    ba = [i for i, t in enumerate(items) if t.startswith("Bland–Altman")]
    assert len(ba) == 1 and "Lesion % by visit" in items
    screen.figure_choice.setCurrentIndex(ba[0])
    canvas = screen.figure_canvas
    assert canvas is not None and canvas.objectName() == "figureCanvas"
    axes = canvas.figure.axes[0]
    n = len(screen.pairs)
    assert n == 6, screen.pairs  # 3 subjects x 2 visits, each read by r1 and r2
    assert f"n = {n} read pairs" in axes.get_title()
    points = axes.collections[0].get_offsets()
    # One point per pair: x = mean of the two reads, y = A - B = ±3 points (r2 read 3 higher).
    expected = sorted((10.0 + int(p.scan_id) + 1.5, p.lesion_pct_a - p.lesion_pct_b) for p in screen.pairs)
    assert sorted((round(float(x), 6), round(float(y), 6)) for x, y in points) == expected
    assert {abs(y) for _, y in expected} == {3.0}
    qtbot.waitUntil(lambda: canvas.isVisible())
