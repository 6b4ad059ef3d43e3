"""The e-signature dialog (21 CFR Part 11 style): password again plus the signature's meaning.

The dialog only collects; ``db.services`` re-authenticates and records who, when and the meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from db.services import AuthenticationError

__all__ = ["SignDialog", "collect_signature", "MEANING_READ", "MEANING_ADJUDICATION"]

T = TypeVar("T")

MEANING_READ = "I confirm this read"
MEANING_ADJUDICATION = "I confirm this adjudication decision"


class SignDialog(QDialog):
    """Asks for the password and the meaning of the signature; ``password``/``meaning`` after accept."""

    def __init__(self, username: str, summary: str, *, meaning: str = MEANING_READ,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Electronic signature")
        self.setObjectName("signDialog")
        self.setMinimumWidth(440)
        intro = QLabel(
            f"You are signing as <b>{username}</b>. A signed record is locked; reopening it needs a "
            "reason and is logged in the audit trail."
        )
        intro.setWordWrap(True)
        self.summary = QLabel(summary)
        self.summary.setObjectName("metricName")
        self.summary.setWordWrap(True)
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("signPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.meaning_box = QComboBox()
        self.meaning_box.setObjectName("signMeaning")
        self.meaning_box.addItem(meaning)
        form = QFormLayout()
        form.addRow("Password", self.password_edit)
        form.addRow("Meaning", self.meaning_box)
        self.error = QLabel("")
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_button = buttons.addButton("Sign", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_button.setObjectName("primary")
        self.sign_button.setDefault(True)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.password_edit.setFocus()

    @property
    def password(self) -> str:
        return self.password_edit.text()

    @property
    def meaning(self) -> str:
        return self.meaning_box.currentText()

    def _accept(self) -> None:
        if not self.password:
            self.error.setText("Enter your password to sign.")
            return
        self.accept()

    def show_error(self, text: str) -> None:
        """Keep the dialog open with a message (e.g. wrong password) for another try."""
        self.error.setText(text)
        self.password_edit.selectAll()
        self.password_edit.setFocus()


def collect_signature(parent: QWidget | None, username: str, summary: str, meaning: str,
                      submit: Callable[[str, str], T], password: str | None = None) -> T | None:
    """Show the signature dialog until ``submit(password, meaning)`` succeeds; None if cancelled.

    A wrong password (``db.errors.AuthenticationError``) keeps the dialog open with the message
    (the service counts it as a failed login). ``password`` given: no dialog (scripted use).
    """
    if password is not None:
        return submit(password, meaning)
    dialog = SignDialog(username, summary, meaning=meaning, parent=parent)
    while dialog.exec() == SignDialog.DialogCode.Accepted:
        try:
            return submit(dialog.password, dialog.meaning)
        except AuthenticationError as exc:
            text = str(exc)
            dialog.show_error(text[:1].upper() + text[1:])
    return None
