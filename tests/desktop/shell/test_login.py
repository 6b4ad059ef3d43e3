"""Login dialog, dark theme, role screens, CLI hooks: real widgets under Xvfb (xcb)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui

from tests.support.desktop import restore_app_theme  # noqa: E402,F401  (autouse fixture)


@pytest.fixture
def app(qapp):
    from desktop.app.application import create_application

    return create_application()


@pytest.fixture
def database(tmp_path):
    import db
    from db import services

    database = db.connect(tmp_path / "login.sqlite")
    services.create_user(database, None, "boss", "manager", "managerpass")
    boss = services.authenticate(database, "boss", "managerpass")
    services.create_user(database, boss, "reader1", "reader", "readerpass")
    services.create_user(database, boss, "stat", "statistician", "statpass1")
    yield database
    database.dispose()


def _context(database, demo_root=None):
    from desktop.app.session import AppContext

    ctx = AppContext(url=database.url, demo_root=demo_root)
    ctx._db = database
    return ctx


def _login(qtbot, dialog, user, password):
    dialog.username.clear()
    dialog.password.clear()
    qtbot.keyClicks(dialog.username, user)
    qtbot.keyClicks(dialog.password, password)
    qtbot.mouseClick(dialog.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.sign_in.isEnabled() or dialog.result() != 0, timeout=10000)


def test_wrong_password_is_explained_and_fifth_failure_pauses_sign_in(app, qtbot, database):
    from desktop.shell.login import LoginDialog

    dialog = LoginDialog(_context(database))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for attempt in range(1, 5):
        _login(qtbot, dialog, "reader1", "wrong-password")
        assert dialog.actor is None
        assert f"{5 - attempt} attempts left" in dialog.message.text()
    _login(qtbot, dialog, "reader1", "wrong-password")
    assert "locked" in dialog.message.text().lower()
    # Even the right password is refused now, with the pause and its end shown (never permanent).
    _login(qtbot, dialog, "reader1", "readerpass")
    assert dialog.actor is None
    text = dialog.message.text().lower()
    assert "paused" in text and "utc" in text and "manager" in text
    from db import services

    boss = services.authenticate(database, "boss", "managerpass")
    users = {u.username: u for u in services.list_users(database, boss)}
    assert users["reader1"].locked


def test_successful_login_opens_the_role_screen_in_a_dark_theme(app, qtbot, database):
    from desktop.shell.login import LoginDialog
    from desktop.shell.main_window import MainWindow

    ctx = _context(database)
    dialog = LoginDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "lungread" not in " ".join(l.text() for l in dialog.findChildren(type(dialog.message)))\
        .replace("LungRead", ""), "no demo password hint on a non-demo database"
    _login(qtbot, dialog, "reader1", "readerpass")
    assert dialog.result() == dialog.DialogCode.Accepted
    assert ctx.actor.username == "reader1" and ctx.actor.role == "reader"

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    from desktop.screens.reader import ReaderScreen

    assert isinstance(window.role_screen, ReaderScreen)
    qtbot.waitUntil(lambda: window.role_screen.worklist.done_label.text() == "0 of 0 done")
    assert "reader1" in window.windowTitle()
    menus = [a.text() for a in window.menuBar().actions() if a.isVisible()]
    assert menus == ["&File", "&View", "&Help"]
    file_menu = window.menuBar().actions()[0].menu()
    assert "Open DICOM folder…" in [a.text() for a in file_menu.actions()]
    # View > Larger text scales every text and is remembered; the window always fits the screen.
    from PySide6.QtWidgets import QApplication

    from desktop.app.application import fit_to_screen, set_text_scale, text_scale

    view_menu = [a.menu() for a in window.menuBar().actions() if a.text() == "&View"][0]
    larger = [a for a in view_menu.actions() if a.text() == "Larger text"][0]
    font_before = window.user_label.fontInfo().pointSizeF()
    larger.trigger()
    assert text_scale() == 1.15 and "11.5pt" in QApplication.instance().styleSheet()
    qtbot.waitUntil(lambda: window.user_label.fontInfo().pointSizeF() > font_before)
    set_text_scale(1.0)
    area = window.screen().availableGeometry()
    window.resize(area.width() * 2, area.height() * 2)  # e.g. a size stored at another scale factor
    fit_to_screen(window)
    assert window.width() <= area.width() and window.height() <= area.height()
    assert area.contains(window.geometry().topLeft()) and area.contains(window.geometry().bottomRight())
    # Dark theme: the window background pixels are dark.
    image = window.grab().toImage()
    colour = image.pixelColor(image.width() // 2, image.height() - 40)
    assert colour.lightness() < 60, colour.name()
    window.close()


def test_demo_login_dialog_shows_the_demo_password(app, qtbot, database, tmp_path):
    from desktop.app.session import DEMO_PASSWORD
    from desktop.shell.login import LoginDialog

    dialog = LoginDialog(_context(database, demo_root=tmp_path))
    qtbot.addWidget(dialog)
    texts = " ".join(w.text() for w in dialog.findChildren(type(dialog.message)))
    assert DEMO_PASSWORD in texts and "reader1" in texts and "statistician" in texts


def test_statistician_and_manager_screens_exist_only_for_their_roles(app, qtbot, database):
    from db import services
    from desktop.screens.manager import ManagerScreen
    from desktop.shell.main_window import MainWindow

    ctx = _context(database)
    ctx.actor = services.authenticate(database, "boss", "managerpass")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert isinstance(window.role_screen, ManagerScreen)
    qtbot.waitUntil(lambda: window.role_screen.users_table.rowCount() == 3)
    names = {window.role_screen.users_table.item(r, 0).text() for r in range(3)}
    assert names == {"boss", "reader1", "stat"}
    window.close()


def test_cli_registers_gui_and_demo_with_the_headless_options():
    from desktop.cli.gui import run_demo, run_gui
    from desktop.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["demo", "--headless", "--out", "x", "--subjects", "3", "--size", "small",
                              "--seed", "4"])
    assert args.handler is run_demo and args.headless and args.out == "x" and args.subjects == 3
    assert parser.parse_args(["gui", "--db", "some.sqlite"]).handler is run_gui


def test_exception_hook_shows_plain_message_without_traceback(app, qtbot, tmp_path, monkeypatch):
    import sys

    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop.app.application import install_exception_hook

    old = sys.excepthook
    try:
        install_exception_hook()
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        assert boxes, "an error dialog is shown"
        box = boxes[-1]
        text = box.text() + box.informativeText() + box.detailedText()
        assert "unexpected" in text.lower() and "Traceback" not in text and 'File "' not in text
        assert "autosaved" in box.informativeText()
        box.close()
    finally:
        sys.excepthook = old
    from desktop.app.application import log_path

    assert "ZeroDivisionError" in log_path().read_text()


def test_manager_imports_a_manifest_with_progress_and_lists_every_bad_row(app, qtbot, database, tmp_path,
                                                                         small_phantom):
    from PySide6.QtWidgets import QProgressDialog

    from db import services
    from desktop.screens.manager import ManagerScreen
    from quant.phantom import write_scan

    write_scan(small_phantom, tmp_path / "trial" / "S001" / "BASELINE")
    manifest = tmp_path / "trial" / "manifest.csv"
    manifest.write_text(
        "subject,visit,visit_day,series_folder,study_date\n"
        "S001,BASELINE,1,S001/BASELINE/dicom,2020-02-01\n"
        "S002,BASELINE,1,S002/BASELINE/dicom,2020-02-02\n"
        "S001,BASELINE,1,S001/BASELINE/dicom,2020-02-01\n"
    )
    ctx = _context(database)
    ctx.actor = services.authenticate(database, "boss", "managerpass")
    screen = ManagerScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    worker = screen.import_manifest(str(manifest))
    assert isinstance(worker.dialog, QProgressDialog) and worker.dialog.isVisible()
    qtbot.waitUntil(lambda: screen.bad_rows.rowCount() == 2, timeout=60000)
    rows = {screen.bad_rows.item(r, 0).text(): screen.bad_rows.item(r, 1).text() for r in range(2)}
    assert set(rows) == {"2", "3"} and "duplicate" in rows["3"]
    assert screen.import_result.text().startswith("Nothing was imported")
    # Fix the manifest: the good row imports, the dashboard shows the scan.
    manifest.write_text("subject,visit,visit_day,series_folder,study_date\n"
                        "S001,BASELINE,1,S001/BASELINE/dicom,2020-02-01\n")
    screen.import_manifest(str(manifest))
    qtbot.waitUntil(lambda: screen.import_result.text().startswith("Imported"), timeout=60000)
    assert screen.bad_rows.rowCount() == 0
    assert "1 scans" in screen.summary.text()
    # The Intake tab says what was imported and why that series.
    table = screen.intake.table
    assert table.rowCount() == 1 and table.item(0, 0).text() == "S001" and table.item(0, 1).text() == "BASELINE"
    assert table.item(0, 7).text() == "the only series in the folder" and int(table.item(0, 2).text()) > 10
    assert table.item(0, 6).text().startswith("coverage ") and "gaps none" in table.item(0, 6).text()


def test_manager_reads_a_visit_from_another_series_in_the_intake_tab(app, qtbot, database, tmp_path):
    """The Intake tab's override: pick another series of the delivery and give a reason (real
    dialogs); the scan then reads from it, and the audit trail holds the signed change."""
    import numpy as np
    import pydicom
    from PySide6.QtWidgets import QInputDialog

    from db import services
    from db.models import AuditEvent, Scan
    from desktop.screens.manager import ManagerScreen
    from quant.dicom.write import write_series
    from quant.volume import Volume
    from tests.support.desktop import when_dialog

    study = tmp_path / "trial" / "S001" / "BASELINE"
    uids = {}
    for seed, kernel in ((1, "B70f"), (2, "B30f")):
        hu = np.random.default_rng(seed).integers(-1000, 100, (80, 24, 24)).astype(np.int16)
        out = study / kernel
        write_series(Volume(hu, (2.0, 1.0, 1.0)), out, seed=seed, series_description=f"Thorax {kernel}")
        for f in out.glob("*.dcm"):
            ds = pydicom.dcmread(f)
            ds.ConvolutionKernel = kernel
            ds.save_as(f)
            uids[kernel] = str(ds.SeriesInstanceUID)
    manifest = tmp_path / "trial" / "manifest.csv"
    manifest.write_text("subject,visit,series_folder\nS001,BASELINE,S001/BASELINE\n")
    ctx = _context(database)
    ctx.actor = services.authenticate(database, "boss", "managerpass")
    screen = ManagerScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    screen.import_manifest(str(manifest))
    qtbot.waitUntil(lambda: screen.import_result.text().startswith("Imported"), timeout=60000)
    tab = screen.intake
    assert tab.table.item(0, 4).text() == "B70f" and "lung kernel" in tab.table.item(0, 7).text()

    def choose(dialog):
        assert uids["B30f"] in dialog.comboBoxItems()[0]
        dialog.setTextValue(dialog.comboBoxItems()[0])
        when_dialog(QInputDialog, give_reason)
        dialog.accept()

    def give_reason(dialog):
        dialog.setTextValue("site: the B70f series is the wrong phase")
        dialog.accept()

    tab.table.selectRow(0)
    when_dialog(QInputDialog, choose)
    worker = tab.choose_other_series()
    assert worker is not None
    qtbot.waitUntil(lambda: "now read from" in tab.summary.text(), timeout=60000)
    assert tab.table.item(0, 4).text() == "B30f" and "wrong phase" in tab.table.item(0, 7).text()
    assert database.read(lambda s: s.query(Scan).one().series_uid) == uids["B30f"]
    event = database.read(lambda s: s.query(AuditEvent).filter_by(action="select_series").one())
    assert event.username == "boss" and event.signature and "wrong phase" in event.reason


def test_window_geometry_is_remembered_between_sessions(app, qtbot, database):
    from db import services
    from desktop.shell.main_window import MainWindow

    ctx = _context(database)
    ctx.actor = services.authenticate(database, "reader1", "readerpass")
    first = MainWindow(ctx)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    target = (first.minimumSizeHint().width() + 13, first.minimumSizeHint().height() + 7)
    first.resize(*target)
    qtbot.waitUntil(lambda: (first.width(), first.height()) == target)
    first.close()
    second = MainWindow(ctx)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == target


def test_open_dicom_folder_reviews_a_series_without_a_database(app, qtbot, database, tmp_path, small_phantom,
                                                             monkeypatch):
    import os

    from db import services
    from desktop.shell.main_window import MainWindow
    from quant.phantom import write_scan

    monkeypatch.setenv("LUNGREAD_NO_3D", "1")
    write_scan(small_phantom, tmp_path / "adhoc")
    ctx = _context(database)
    ctx.actor = services.authenticate(database, "reader1", "readerpass")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    before = sorted(os.listdir(tmp_path))
    viewer = window.open_dicom_folder(str(tmp_path / "adhoc"))
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.views is not None, timeout=60000)
    assert viewer.volume.shape == small_phantom.volume.shape
    assert "ad-hoc" in viewer.windowTitle()
    # Palette choices made before segmentation carry over to the new case views' editor.
    qtbot.mouseClick(viewer.palette.solid, Qt.MouseButton.LeftButton)
    viewer.palette.sphere.setChecked(True)
    qtbot.mouseClick(viewer.segment_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: viewer.views.tracker.metrics.lung_ml > 100, timeout=60000)
    from quant.labels import SOLID

    assert viewer.views.editor.label == SOLID and viewer.views.editor.brush_shape == "sphere"
    truth = small_phantom.truth["lung_ml"]
    assert abs(viewer.views.tracker.metrics.lung_ml - truth) / truth < 0.1
    assert viewer.metrics.text_of("lung_ml") == f"{viewer.views.tracker.metrics.lung_ml:.0f}"
    assert sorted(os.listdir(tmp_path)) == before, "nothing was written next to the images"
    viewer.close()


def test_cli_parser_can_be_built_again_and_again():
    # Every main() builds a fresh parser; the export group must belong to that parser, even when
    # the previous one has been collected and its objects' ids are reused.
    import gc

    from desktop.cli.main import build_parser

    for _ in range(30):
        parser = build_parser()
        args = parser.parse_args(["export", "reads", "r.csv"])
        assert args.export_command == "reads"
        assert parser.parse_args(["export", "adqct", "d"]).export_command == "adqct"
        del parser, args
        gc.collect()


def test_cli_fails_loudly_when_a_command_module_is_missing(monkeypatch):
    # A command module that does not import is a packaging error: it must not silently vanish
    # from the command line.
    import desktop.cli.main as cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", cli.COMMAND_MODULES + ("desktop.cli.no_such_command",))
    with pytest.raises(ModuleNotFoundError, match="no_such_command"):
        cli.build_parser()
    monkeypatch.undo()
    assert "segment" in cli.build_parser().format_help()


def test_open_dicom_folder_dialog_starts_in_the_home_folder_not_the_trial(app, qtbot, database, tmp_path,
                                                                         monkeypatch):
    """The ad-hoc Open dialog starts in the user's home folder, never in the working directory
    (in the demo, the trial folder beside its randomisation list); cancelling opens nothing."""
    from pathlib import Path

    from PySide6.QtWidgets import QFileDialog

    from db import services
    from desktop.shell.main_window import MainWindow
    from tests.support.desktop import when_dialog

    (tmp_path / "trial").mkdir()
    (tmp_path / "trial" / "randomization.csv").write_text("subject,arm\n")
    monkeypatch.chdir(tmp_path / "trial")
    ctx = _context(database)
    ctx.actor = services.authenticate(database, "reader1", "readerpass")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    seen = {}

    def look(dialog):
        seen["dir"] = Path(dialog.directory().absolutePath())
        dialog.reject()

    state = when_dialog(QFileDialog, look)
    assert window.open_dicom_folder() is None
    assert state["done"] and seen["dir"] == Path.home()
