"""The reader's screen: the worklist, and the reading workspace for the open case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QStackedWidget, QWidget

from db import services
from desktop.app.session import AppContext
from desktop.screens.worklist import WorklistWidget

if TYPE_CHECKING:
    from desktop.reading.workspace import ReadingWorkspace

__all__ = ["ReaderScreen"]


class ReaderScreen(QStackedWidget):
    """Worklist page and (created on first use, it imports VTK) workspace page."""

    status_message = Signal(str)
    title_changed = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("readerScreen")
        self.worklist = WorklistWidget(context)
        self.worklist.open_requested.connect(self.open_task)
        self.addWidget(self.worklist)
        self.workspace: ReadingWorkspace | None = None
        QTimer.singleShot(0, self.worklist.refresh)

    def _ensure_workspace(self) -> ReadingWorkspace:
        if self.workspace is None:
            from desktop.reading.workspace import ReadingWorkspace

            self.workspace = ReadingWorkspace(self.context)
            self.workspace.back_requested.connect(self.show_worklist)
            self.workspace.signed.connect(self._signed)
            self.workspace.status_message.connect(self.status_message)
            self.workspace.case_opened.connect(lambda code: self.title_changed.emit(f"Case {code}"))
            self.addWidget(self.workspace)
        return self.workspace

    def open_task(self, task_id: int) -> None:
        """Open a task in the workspace (saving the current draft first)."""
        workspace = self._ensure_workspace()
        if not workspace.close_case():
            return
        self.setCurrentWidget(workspace)
        workspace.open_task(task_id)

    def show_worklist(self) -> None:
        if self.workspace is not None and not self.workspace.close_case():
            return
        self.worklist.refresh()
        self.setCurrentWidget(self.worklist)
        self.title_changed.emit("")

    def _signed(self, task_id: int) -> None:
        nxt = services.next_task(self.context.database(), self.context.actor)
        if nxt is None:
            self.status_message.emit("All cases in your worklist are signed.")
            self.show_worklist()
        else:
            self.open_task(int(nxt.task_id))

    def about_to_leave(self) -> bool:
        """Save the draft before sign-out or quit."""
        return self.workspace.close_case() if self.workspace is not None else True
