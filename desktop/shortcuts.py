"""The keyboard shortcuts of the reading workspace, and the Help dialog that lists them.

One table drives both the QShortcuts/QActions and the Help → Keyboard shortcuts dialog, so the
help can never drift from what the keys do.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

__all__ = ["SHORTCUTS", "ShortcutsDialog"]

# (key sequence, what it does)
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("1", "Window/level: lung (−600 / 1500 HU)"),
    ("2", "Window/level: mediastinum (40 / 400 HU)"),
    ("3", "Window/level: bone (400 / 1800 HU)"),
    ("B", "Brush: paint the lesion label"),
    ("E", "Erase lesion"),
    ("G", "Grow region from a click"),
    ("I", "Remove the clicked island"),
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
