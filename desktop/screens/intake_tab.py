"""The manager's Intake tab: per subject and visit, the series imported, its slices, spacing,
kernel and intake QC, why it was chosen, and what was not taken (``db.services.intake_report``);
and the audited override: read a visit from another series of its delivery, with a reason
(``db.services.select_series``)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db import services
from desktop.app.session import AppContext
from desktop.app.workers import Worker, run_with_progress

__all__ = ["IntakeTab", "COLUMNS"]

COLUMNS = ["Subject", "Visit", "Slices", "Spacing (mm)", "Kernel", "Description", "QC", "Why this series",
           "Not taken"]


class IntakeTab(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.worker: Worker | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("intakeTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.summary = QLabel("")
        self.override = QPushButton("Read this visit from another series…")
        self.override.setObjectName("overrideSeries")
        self.override.setToolTip("Choose another series of the visit's delivery, with a reason (audited); only "
                                 "before anyone has saved work on the scan")
        self.override.clicked.connect(self.choose_other_series)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What each imported scan is, and why that series of the delivery was taken:"))
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.override)
        layout.addLayout(row)

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

    def choose_other_series(self) -> Worker | None:
        """For the selected row: list the delivery's other series in a worker (it reads every
        header of the study folder), then ask which and why, then change it in a worker (it reads
        and copies the whole series). Returns the first worker, or None with no row selected."""
        row = self.table.currentRow()
        if row < 0:
            self.summary.setText("Select the visit first.")
            return None
        subject, visit = self.table.item(row, 0).text(), self.table.item(row, 1).text()
        database, actor = self.context.database(), self.context.actor
        self.worker = run_with_progress(
            self, "Another series", f"Reading the delivery of {subject} {visit}…",
            lambda _progress, _cancelled: services.series_candidates(database, actor, subject, visit),
            on_success=lambda found: self._ask_and_change(subject, visit, found), cancellable=False)
        return self.worker

    def _ask_and_change(self, subject: str, visit: str, candidates: list[services.SeriesCandidate]) -> None:
        others = [c for c in candidates if not c.selected]
        if not others:
            self.summary.setText(f"The delivery of {subject} {visit} holds no other series.")
            return
        labels = [f"{c.label}  ({c.series_uid})" for c in others]
        label, ok = QInputDialog.getItem(self, "Another series", f"Read {subject} {visit} from:", labels, 0, False)
        if not ok:
            return
        reason, ok = QInputDialog.getText(self, "Reason", "Why this series (goes into the audit trail):")
        if not ok or not reason.strip():
            return
        uid = others[labels.index(label)].series_uid
        database, actor = self.context.database(), self.context.actor

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            services.select_series(database, actor, subject, visit, uid, reason.strip())

        def done(_result: object) -> None:
            self.refresh()
            self.summary.setText(f"{subject} {visit} is now read from the series chosen; the change is audited.")

        self.worker = run_with_progress(self, "Another series", "Checking and storing the series…", work,
                                        on_success=done, cancellable=False)
