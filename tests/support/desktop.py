"""Helpers shared by the desktop GUI tests (tests/desktop/)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QStatusBar,
    QTableWidget,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from tests.support import slice_views


def widget_texts(root: QWidget) -> list[str]:
    """Every user-visible string under ``root``: texts, titles, tooltips, items, headers, tabs."""
    out: list[str] = []
    widgets = [root, *root.findChildren(QWidget)]
    for w in widgets:
        out += [w.windowTitle(), w.toolTip(), w.statusTip(), w.whatsThis(), w.accessibleName()]
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            out.append(w.text())
        if isinstance(w, QLineEdit):
            out.append(w.placeholderText())
        if isinstance(w, (QPlainTextEdit, QTextEdit)):
            out.append(w.toPlainText())
        if isinstance(w, QGroupBox):
            out.append(w.title())
        if isinstance(w, QStatusBar):
            out.append(w.currentMessage())
        if isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
        if isinstance(w, QTabWidget):
            out += [w.tabText(i) for i in range(w.count())]
        if isinstance(w, QListWidget):
            out += [w.item(i).text() for i in range(w.count())]
        if isinstance(w, QTableWidget):
            for r in range(w.rowCount()):
                for c in range(w.columnCount()):
                    item = w.item(r, c)
                    if item is not None:
                        out += [item.text(), item.toolTip()]
            for c in range(w.columnCount()):
                h = w.horizontalHeaderItem(c)
                if h is not None:
                    out.append(h.text())
        for action in w.actions():
            out += [action.text(), action.toolTip(), action.statusTip()]
    return [t for t in out if t]


def all_window_texts() -> list[str]:
    """widget_texts over every top-level window (dialogs, message boxes, the main window)."""
    out: list[str] = []
    for w in QApplication.topLevelWidgets():
        if w.isVisible():
            out += widget_texts(w)
    return out


def assert_no_forbidden(texts: Iterable[str], forbidden: Iterable[str], where: str) -> None:
    texts = list(texts)
    joined = "\n".join(texts).lower()
    for word in forbidden:
        assert word.lower() not in joined, f"{where}: found forbidden string {word!r} in the UI"


# --- driving real widgets -----------------------------------------------------------------------


def drag(view, points_zyx):
    """Left-drag in a viewer SliceView through the given voxel positions (real mouse events), then
    let the event loop deliver what the drag triggered."""
    slice_views.drag(view, points_zyx)
    QApplication.processEvents()


def when_dialog(cls, action, timeout_ms: int = 15000):
    """Run ``action(dialog)`` on the first visible top-level ``cls`` once it appears (modal dialogs
    block the test's call, so this polls from the event loop)."""
    from PySide6.QtCore import QTimer

    state = {"left": timeout_ms // 20, "done": False}

    def poll():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, cls) and w.isVisible():
                state["done"] = True
                action(w)
                return
        state["left"] -= 1
        if state["left"] > 0:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)
    return state


def double_click_row(qtbot, table, row):
    from PySide6.QtCore import Qt

    rect = table.visualRect(table.model().index(row, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def wait_workers_idle(qtbot, timeout_ms: int = 120000) -> None:
    """Wait until no desktop worker thread runs (e.g. the next case auto-opened after signing)."""
    from desktop.app import workers

    qtbot.waitUntil(lambda: not any(w.isRunning() for w in list(workers._alive)), timeout=timeout_ms)


def wait_laid_out(qtbot, case_views) -> None:
    """Wait until the slice views have their final size (mouse positions map to voxels through the
    camera, which is fitted on resize)."""
    views = list(case_views.views.values())
    qtbot.waitUntil(lambda: all(v.isVisible() and v.vtk_widget.width() > 150 for v in views))
    sizes = [v.vtk_widget.size() for v in views]
    qtbot.wait(100)
    qtbot.waitUntil(lambda: [v.vtk_widget.size() for v in views] == sizes)
    QApplication.processEvents()


import pytest  # noqa: E402  (fixture below is imported by the desktop test modules)


@pytest.fixture(autouse=True)
def restore_app_theme(qapp):
    """The desktop tests theme the shared QApplication (Fusion + dark stylesheet); put the previous
    style back afterwards so other packages' GUI tests in the same session see an untouched app."""
    style, sheet, palette = qapp.style().name(), qapp.styleSheet(), qapp.palette()
    yield
    # Let widgets the test closed be deleted first: re-styling a half-deleted widget segfaults Qt.
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    if qapp.styleSheet() != sheet:
        qapp.setStyleSheet(sheet)
    if qapp.style().name() != style:
        qapp.setStyle(style)
    qapp.setPalette(palette)


def login_reader1(qtbot, context):
    """The real main window of reader1 on ``context``'s database, shown and exposed."""
    from db import services
    from desktop.app.session import DEMO_PASSWORD
    from desktop.shell.main_window import MainWindow

    context.actor = services.authenticate(context.database(), "reader1", DEMO_PASSWORD)
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def open_case(qtbot, screen, task_id: int, *, laid_out: bool = True):
    """Open ``task_id`` from the reader screen's worklist by a double click (as a reader does)
    and wait until the workspace can be edited (and, with ``laid_out``, its views are laid out)."""
    double_click_row(qtbot, screen.worklist.table, screen.worklist.row_of_task(task_id))
    workspace = screen.workspace
    qtbot.waitUntil(lambda: workspace.views is not None and workspace.sign_button.isEnabled(), timeout=120000)
    if laid_out:
        wait_laid_out(qtbot, workspace.views)
    return workspace
