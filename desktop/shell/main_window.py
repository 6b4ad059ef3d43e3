"""The main window: menus, status bar, and the screen of the signed-in user's role."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QWidget

from desktop.app.application import fit_to_screen, restore_geometry, save_geometry, step_text_scale
from desktop.app.session import AppContext

if TYPE_CHECKING:
    from desktop.app.workers import Worker

__all__ = ["MainWindow", "screen_for_role"]

ROLE_TITLES = {
    "reader": "Reading",
    "adjudicator": "Adjudication",
    "manager": "Trial management",
    "statistician": "Statistics",
}


def screen_for_role(context: AppContext, parent: QWidget | None = None) -> QWidget:
    """The central screen for ``context.actor.role``; the role decides which screens exist."""
    role = str(getattr(context.actor, "role", ""))
    role = getattr(context.actor.role, "value", role)
    if role == "reader":
        from desktop.screens.reader import ReaderScreen

        return ReaderScreen(context, parent)
    if role == "adjudicator":
        from desktop.screens.adjudication import AdjudicationScreen

        return AdjudicationScreen(context, parent)
    if role == "manager":
        from desktop.screens.manager import ManagerScreen

        return ManagerScreen(context, parent)
    if role == "statistician":
        from desktop.screens.statistician import StatisticianScreen

        return StatisticianScreen(context, parent)
    raise ValueError(f"unknown role {role!r}")


class MainWindow(QMainWindow):
    """Top-level window for one signed-in user."""

    signed_out = Signal()
    package_opened = Signal(str)  # database URL of a reading package: the launcher signs in to it
    closed = Signal()  # the user closed the window (not a sign-out): the launcher quits

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._signing_out = False
        self._adhoc_windows: list[QWidget] = []
        actor = context.actor
        role = getattr(actor.role, "value", str(actor.role))
        self.role = role
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"LungRead — {ROLE_TITLES.get(role, role)} — {actor.username}")
        self.resize(1500, 950)

        self.user_label = QLabel(f"{actor.username} ({role})")
        self.statusBar().addPermanentWidget(self.user_label)
        if context.is_demo:
            self.statusBar().addPermanentWidget(QLabel("demo database"))
        self._build_menus()

        self.role_screen = screen_for_role(context, self)
        self.setCentralWidget(self.role_screen)
        status = getattr(self.role_screen, "status_message", None)
        if status is not None:
            status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        title = getattr(self.role_screen, "title_changed", None)
        if title is not None:
            title.connect(self._set_subtitle)
        for action in getattr(self.role_screen, "menu_actions", lambda: [])():
            self.edit_menu.addAction(action)
        self.edit_menu.menuAction().setVisible(not self.edit_menu.isEmpty())
        restore_geometry(self, f"main/{role}")
        fit_to_screen(self)  # a stored or default size may not fit this screen or scale factor
        self.statusBar().showMessage(f"Signed in as {actor.username}.", 5000)

    def _set_subtitle(self, subtitle: str) -> None:
        base = f"LungRead — {ROLE_TITLES.get(self.role, self.role)} — {self.context.actor.username}"
        self.setWindowTitle(f"{base} — {subtitle}" if subtitle else base)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_dicom = QAction("Open DICOM folder…", self)
        open_dicom.setShortcut(QKeySequence("Ctrl+O"))
        open_dicom.triggered.connect(self.open_dicom_folder)
        file_menu.addAction(open_dicom)
        open_package = QAction("Open reading package…", self)
        open_package.setStatusTip("Read an offline reading package: sign in to its database")
        open_package.triggered.connect(lambda: self.open_package())
        file_menu.addAction(open_package)
        file_menu.addSeparator()
        sign_out = QAction("Sign out", self)
        sign_out.triggered.connect(self.sign_out)
        file_menu.addAction(sign_out)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        self.edit_menu = self.menuBar().addMenu("&Edit")

        view_menu = self.menuBar().addMenu("&View")
        for text, keys, steps in (("Larger text", ("Ctrl++", "Ctrl+="), 1), ("Smaller text", ("Ctrl+-",), -1),
                                  ("Normal text size", ("Ctrl+0",), 0)):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda _=False, n=steps: self._text_size(n))
            view_menu.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        keys = QAction("Keyboard shortcuts", self)
        keys.setShortcut(QKeySequence("F1"))
        keys.triggered.connect(self.show_shortcuts)
        help_menu.addAction(keys)
        about = QAction("About LungRead", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _text_size(self, steps: int) -> None:
        scale = step_text_scale(steps)
        self.statusBar().showMessage(f"Text size {round(scale * 100)} %", 4000)

    def show_shortcuts(self) -> None:
        from desktop.reading.shortcuts import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def _about(self) -> None:
        QMessageBox.about(self, "About LungRead",
                          "LungRead — blinded CT reads for clinical trials.\nLicence: Apache-2.0.")

    def open_dicom_folder(self, folder: str | None = None) -> QWidget | None:
        """Open any CT series for ad-hoc review, outside the trial and without the database."""
        if not folder:
            # Start in the home folder, never in the working directory (the trial's own folder in
            # the demo, next to its randomisation list).
            folder = QFileDialog.getExistingDirectory(self, "Open DICOM folder", str(Path.home()))
        if not folder:
            return None
        from desktop.reading.adhoc import AdhocViewer

        window = AdhocViewer(folder)
        self._adhoc_windows.append(window)
        window.show()
        window.start()
        return window

    def open_package(self, path: str | None = None) -> Worker | None:
        """Check a reading package (folder or .zip) in a worker, then leave this database and sign in
        to the package's (``package_opened``); returns the worker."""
        from desktop.shell.package_opening import open_reading_package

        def opened(url: str) -> None:
            if not self._leave_screen():
                return
            self._signing_out = True
            self.close()
            self.package_opened.emit(url)

        return open_reading_package(self, path, opened, progress_parent=self)

    def sign_out(self) -> None:
        if not self._leave_screen():
            return
        self._signing_out = True
        self.close()
        self.signed_out.emit()

    def _leave_screen(self) -> bool:
        leave = getattr(self.role_screen, "about_to_leave", None)
        return bool(leave()) if leave is not None else True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self._signing_out and not self._leave_screen():
            event.ignore()
            return
        save_geometry(self, f"main/{self.role}")
        for window in self._adhoc_windows:
            window.close()
        event.accept()
        if not self._signing_out:
            self.closed.emit()
