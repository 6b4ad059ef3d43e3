"""Login dialog: username and password, clear failure and lockout messages.

Authentication (scrypt, and the first database connection) runs in a worker thread, so the dialog
paints at once and never freezes. In a reading package (offline, no manager at hand) a locked
account can be unlocked with the manager's unlock code (:mod:`db.packages.unlock`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.session import DEMO_PASSWORD, DEMO_USERS, AppContext

if TYPE_CHECKING:
    from db.services import Actor
    from desktop.app.workers import Worker

__all__ = ["LoginDialog"]


class LoginDialog(QDialog):
    """Asks for credentials; on success ``actor`` holds the ``db.services.Actor`` and it accepts."""

    signed_in = Signal(object)
    package_opened = Signal(str)  # database URL of a checked reading package

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.actor: Actor | None = None
        self._worker = None
        self.setWindowTitle("LungRead — Sign in")
        self.setObjectName("loginDialog")
        self.setMinimumWidth(420)

        title = QLabel("LungRead")
        title.setObjectName("heading")
        subtitle = QLabel("Blinded CT reads for clinical trials")
        subtitle.setObjectName("metricName")

        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setPlaceholderText("user name")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("password")
        form = QFormLayout()
        form.addRow("User", self.username)
        form.addRow("Password", self.password)

        self.message = QLabel("")
        self.message.setObjectName("errorText")
        self.message.setWordWrap(True)

        self.sign_in = QPushButton("Sign in")
        self.sign_in.setObjectName("primary")
        self.sign_in.setDefault(True)
        self.sign_in.clicked.connect(self._submit)
        cancel = QPushButton("Quit")
        cancel.clicked.connect(self.reject)
        open_package = QPushButton("Open reading package…")
        open_package.setObjectName("openPackage")
        open_package.setToolTip("Read offline from the reading package (folder or .zip) the core lab sent you")
        open_package.clicked.connect(self._choose_package)
        self.unlock = QPushButton("Unlock with code…")
        self.unlock.setObjectName("unlockPackage")
        self.unlock.setToolTip("Your account in this reading package is locked: enter the unlock code your "
                               "core-lab manager gives you")
        self.unlock.clicked.connect(lambda: self.unlock_with_code())
        self.unlock.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(open_package)
        buttons.addWidget(self.unlock)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.sign_in)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(12)
        layout.addLayout(form)
        if context.is_demo:
            names = ", ".join(name for name, _ in DEMO_USERS)
            hint = QLabel(
                f"Demo database — accounts: {names}.\nPassword for every demo account: "
                f"“{DEMO_PASSWORD}”."
            )
            hint.setObjectName("demoHint")
            hint.setWordWrap(True)
            hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(hint)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.username.setFocus()

    def _choose_package(self) -> None:
        self.open_package()

    def open_package(self, path: str | None = None) -> Worker | None:
        """Check a reading package in a worker, then hand its database URL to the launcher
        (``package_opened``), which shows a new login for it; returns the worker."""
        from desktop.shell.package_opening import open_reading_package

        def opened(url: str) -> None:
            # Hand over on the next event-loop turn: the launcher deletes this dialog, which must
            # not happen inside the worker's own finished handling (its progress dialog is our child).
            QTimer.singleShot(0, lambda: self.package_opened.emit(url))

        return open_reading_package(self, path, opened, progress_parent=None)

    def _submit(self) -> None:
        user = self.username.text().strip()
        password = self.password.text()
        if not user or not password:
            self.message.setText("Enter your user name and password.")
            return
        self.sign_in.setEnabled(False)
        self.message.setObjectName("metricName")
        self.message.setText("Signing in…")
        from desktop.app.workers import Worker

        context = self.context

        def work(progress, cancelled):  # noqa: ANN001, ANN202 - worker signature
            from db import services

            return services.authenticate(context.database(), user, password)

        self._worker = Worker(work, name="sign-in")
        self._worker.succeeded.connect(self._accepted)
        self._worker.failed.connect(self._refused)
        self._worker.start()

    def _accepted(self, actor: Actor) -> None:
        self.actor = actor
        self.context.actor = actor
        self.signed_in.emit(actor)
        self.accept()

    def _refused(self, exc: BaseException) -> None:
        from desktop.app.application import describe_exception

        self.sign_in.setEnabled(True)
        self.message.setObjectName("errorText")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        what, _todo = describe_exception(exc)
        what = what[:1].upper() + what[1:]
        text = what
        paused = "locked until" in what.lower() or "paused" in what.lower()  # the time-based sign-in pause
        if paused and self.package_root() is not None:
            text = (f"{what.split(';')[0]}.\nThis is a reading package: wait until then, or ask your core-lab "
                    "manager for its unlock code and press “Unlock with code…”.")
            self.unlock.show()
        self.message.setText(text)
        self.password.selectAll()
        self.password.setFocus()

    def package_root(self) -> Path | None:
        """The reading package folder when this dialog signs into a package database, else None."""
        from db.services import package_of_url

        return package_of_url(self.context.url)

    def unlock_with_code(self, code: str | None = None) -> bool:
        """Unlock the typed user's package account with the manager's code (asked for when
        ``code`` is None); returns True when unlocked."""
        from db.services import unlock_package_account
        from quant.errors import LungReadError

        root = self.package_root()
        user = self.username.text().strip()
        if root is None or not user:
            self.message.setText("Enter your user name first.")
            return False
        if code is None:
            code, ok = QInputDialog.getText(self, "Unlock account", f"Unlock code for {user} (from your core-lab manager):")
            if not ok:
                return False
        try:
            unlock_package_account(root, user, code)
        except LungReadError as exc:
            self.message.setText(str(exc))
            return False
        self.unlock.hide()
        self.message.setObjectName("metricName")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(f"Account {user} unlocked. Sign in with your password.")
        self.password.clear()
        self.password.setFocus()
        return True
