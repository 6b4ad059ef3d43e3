"""The keyboard shortcuts of the reading workspace, and the Help dialog that lists them.

One table drives both the QShortcuts/QActions and the Help → Keyboard shortcuts dialog, so the
help can never drift from what the keys do.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

__all__ = ["SHORTCUTS", "ACTION_KEYS", "ShortcutsDialog", "install_shortcuts"]

# Keys of the reading workspace's actions (the first key of each is listed in SHORTCUTS).
ACTION_KEYS: dict[str, tuple[str, ...]] = {
    "wl:lung": ("1",), "wl:mediastinum": ("2",), "wl:bone": ("3",),
    "tool:paint": ("B",), "tool:erase": ("E",), "tool:grow": ("G",), "tool:island": ("I",),
    "tool:navigate": ("Esc",), "tool:ruler": ("M",), "tool:roi": ("C",),
    "undo": ("Ctrl+Z",), "redo": ("Ctrl+Shift+Z",),
    "save": ("Ctrl+S",), "sign": ("Ctrl+Return", "Ctrl+Enter"),
    "display:lesions": ("V",), "display:outline": ("O",), "display:lung": ("L",),
    "display:fainter": ("[",), "display:stronger": ("]",),
}

# (key sequence, what it does)
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("1", "Window/level: lung (−600 / 1500 HU)"),
    ("2", "Window/level: mediastinum (40 / 400 HU)"),
    ("3", "Window/level: bone (400 / 1800 HU)"),
    ("B", "Brush: paint the lesion label"),
    ("E", "Erase lesion (any label; Shift+drag: the selected label only)"),
    ("G", "Grow region from a click (a preview: Esc takes it back)"),
    ("I", "Remove the clicked island"),
    ("M", "Ruler: drag a distance (mm)"),
    ("C", "ROI: drag a circle from its centre (HU mean, SD, min, max, area)"),
    ("V", "Show / hide the lesion labels"),
    ("O", "Lesions filled / as outlines"),
    ("L", "Show / hide the lung outline"),
    ("[ / ]", "Lesion opacity down / up"),
    ("X (hold)", "The CT alone, while held"),
    ("Ctrl+Z", "Undo"),
    ("Ctrl+Shift+Z", "Redo"),
    ("Ctrl+S", "Save draft"),
    ("Ctrl+Return", "Sign the read"),
    ("Shift+Wheel", "Brush size"),
    ("Wheel / PgUp / PgDn", "Change slice"),
    ("Right-drag", "Window/level"),
    ("Middle-drag / Ctrl+Wheel", "Pan / zoom"),
    ("Ctrl+O", "Open a DICOM folder for ad-hoc review"),
    ("F1", "This list"),
)


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(SHORTCUTS), 2)
        table.setObjectName("shortcutsTable")
        table.setHorizontalHeaderLabels(["Key", "Action"])
        for row, (key, text) in enumerate(SHORTCUTS):
            table.setItem(row, 0, QTableWidgetItem(key))
            table.setItem(row, 1, QTableWidgetItem(text))
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setStretchLastSection(True)
        table.resizeColumnsToContents()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(460, 520)


def install_shortcuts(widget: QWidget, handlers: dict[str, Callable[[], object]]) -> list[QShortcut]:
    """Bind :data:`ACTION_KEYS` to ``handlers`` (action name -> callable), active while the focus
    is anywhere inside ``widget`` (so text fields keep their own keys: typing "1" in a comment
    stays a "1")."""
    made = []
    for action, handler in handlers.items():
        for key in ACTION_KEYS[action]:
            shortcut = QShortcut(QKeySequence(key), widget)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(handler)
            made.append(shortcut)
    return made
