"""The reader's worklist: anonymous case codes, their status, and "n of N done".

It shows only what ``db.services.worklist`` returns for the signed-in reader (case code, status,
order): no subject, visit, date or arm ever reaches this widget. A signed read can be reopened
from here, with a reason; ``db.services.reopen_read`` decides whether that is still allowed
(before the lock, not after a decided adjudication).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from db import services
from desktop.app.application import show_error, show_exception
from desktop.app.session import AppContext
from quant.errors import LungReadError

if TYPE_CHECKING:
    from db.services import TaskView

__all__ = ["WorklistWidget"]

STATUS_TEXT = {"new": "New", "draft": "Draft", "signed": "Signed"}
STATUS_COLOUR = {"new": "#9cc3ea", "draft": "#f3d58a", "signed": "#8fd19e"}


def _status(task: TaskView) -> str:
    status = getattr(task, "status", "new")
    return str(getattr(status, "value", status))


class WorklistWidget(QWidget):
    """Table of the reader's tasks; double-click (or Enter) opens one."""

    open_requested = Signal(int)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks: list[TaskView] = []
        self.locked = False
        self.setObjectName("worklist")

        heading = QLabel("Worklist")
        heading.setObjectName("heading")
        self.done_label = QLabel("")
        self.done_label.setObjectName("doneLabel")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(260)
        self.open_next = QPushButton("Open next case")
        self.open_next.setObjectName("primary")
        self.open_next.setToolTip("Open the next unsigned case in your reading order")
        self.open_next.clicked.connect(self._open_next)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.reopen = QPushButton("Reopen signed read…")
        self.reopen.setObjectName("reopenButton")
        self.reopen.setToolTip("Reopen the selected signed read to correct it; the reason goes into the audit "
                               "trail and the read must be signed again (not after the database lock)")
        self.reopen.setEnabled(False)
        self.reopen.clicked.connect(lambda: self.reopen_selected())

        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(20)
        top.addWidget(self.done_label)
        top.addWidget(self.progress)
        top.addStretch(1)
        top.addWidget(refresh)
        top.addWidget(self.reopen)
        top.addWidget(self.open_next)

        self.table = QTableWidget(0, 3)
        self.table.setObjectName("worklistTable")
        self.table.setHorizontalHeaderLabels(["#", "Case", "Status"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellDoubleClicked.connect(lambda row, _col: self._open_row(row))
        self.table.activated.connect(lambda index: self._open_row(index.row()))
        self.table.itemSelectionChanged.connect(self._selection_changed)

        hint = QLabel("Double-click a case to open it. Cases are shown by code only; reading order "
                      "is randomised for each reader.")
        hint.setObjectName("metricName")

        self.lock_banner = QLabel("")
        self.lock_banner.setObjectName("banner")
        self.lock_banner.setWordWrap(True)
        self.lock_banner.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.lock_banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)

    def refresh(self) -> None:
        """Reload the worklist from the database."""
        self.tasks = sorted(services.worklist(self.context.database(), self.context.actor),
                            key=lambda t: getattr(t, "order_index", 0))
        self.table.setRowCount(len(self.tasks))
        done = 0
        for row, task in enumerate(self.tasks):
            status = _status(task)
            done += status == "signed"
            order = QTableWidgetItem(str(row + 1))
            order.setData(Qt.ItemDataRole.UserRole, int(task.task_id))
            code = QTableWidgetItem(str(task.case_code))
            reason = getattr(task, "not_evaluable", None)
            state = QTableWidgetItem(f"Signed: not evaluable ({reason})" if reason else
                                     STATUS_TEXT.get(status, status.title()))
            state.setForeground(QColor(STATUS_COLOUR.get(status, "#d8dade")))
            for col, item in enumerate((order, code, state)):
                self.table.setItem(row, col, item)
        total = len(self.tasks)
        self.done_label.setText(f"{done} of {total} done")
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        lock = services.lock_status(self.context.database())
        self.locked = lock is not None
        if lock is not None:
            when = str(lock.locked_at).replace("T", " ")[:19]
            self.lock_banner.setText(f"The database was locked on {when} UTC by {lock.locked_by}: reading is "
                                     "closed. Cases open read-only; nothing can be changed or signed.")
        self.lock_banner.setVisible(self.locked)
        self.open_next.setEnabled(done < total and not self.locked)
        self._selection_changed()

    def row_of_task(self, task_id: int) -> int:
        for row, task in enumerate(self.tasks):
            if int(task.task_id) == int(task_id):
                return row
        raise KeyError(task_id)

    def _selected_task(self) -> TaskView | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        return self.tasks[rows.pop()] if len(rows) == 1 and 0 <= min(rows) < len(self.tasks) else None

    def _selection_changed(self) -> None:
        task = self._selected_task()
        self.reopen.setEnabled(task is not None and _status(task) == "signed" and not self.locked)

    def reopen_selected(self, reason: str | None = None) -> bool:
        """Reopen the selected signed read; without ``reason`` the reader is asked for one.
        Refusals (locked database, decided adjudication, ...) are shown as errors. Returns True
        when the read was reopened."""
        task = self._selected_task()
        if task is None or _status(task) != "signed":
            return False
        if reason is None:
            reason, ok = QInputDialog.getText(self, "Reopen signed read",
                                              f"Why reopen case {task.case_code}? (recorded in the audit trail)")
            if not ok:
                return False
        if not reason.strip():
            show_error(self, "A reason is needed to reopen a signed read.", "Type why the read must be corrected.")
            return False
        try:
            services.reopen_read(self.context.database(), self.context.actor, int(task.task_id), reason)
        except LungReadError as exc:
            show_exception(self, exc)
            return False
        self.refresh()
        return True

    def _open_row(self, row: int) -> None:
        if 0 <= row < len(self.tasks):
            self.open_requested.emit(int(self.tasks[row].task_id))

    def _open_next(self) -> None:
        for task in self.tasks:
            if _status(task) != "signed":
                self.open_requested.emit(int(task.task_id))
                return
