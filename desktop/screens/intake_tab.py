"""The manager's Intake tab: per subject and visit, the series imported, its slices, spacing and
kernel, why it was chosen, and what was not taken (``db.services.intake_report``)."""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from db import services
from desktop.app.session import AppContext

__all__ = ["IntakeTab", "COLUMNS"]

COLUMNS = ["Subject", "Visit", "Slices", "Spacing (mm)", "Kernel", "Description", "QC", "Why this series",
           "Not taken"]


class IntakeTab(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("intakeTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.summary = QLabel("")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What each imported scan is, and why that series of the delivery was taken:"))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)

    def refresh(self) -> None:
        lines = services.intake_report(self.context.database(), self.context.actor)
        self.table.setRowCount(len(lines))
        for r, line in enumerate(lines):
            values = [line.subject, line.visit, line.n_slices,
                      "" if line.slice_mm is None else f"{line.slice_mm:.2f}", line.kernel, line.description,
                      line.qc if line.stored else f"{line.qc} (not in the image store yet)".strip(),
                      line.selection, "\n".join(line.not_chosen)]
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(str(value)))
        self.table.resizeRowsToContents()
        self.summary.setText(f"{len(lines)} scan(s) imported.")
