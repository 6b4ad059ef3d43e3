"""Helpers shared by the desktop GUI tests (tests/test_desktop_*.py)."""

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
    QTableWidget,
    QTabWidget,
    QTextEdit,
    QWidget,
)


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
