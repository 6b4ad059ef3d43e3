"""Background work with progress and Cancel, so the GUI thread never blocks.

A :class:`Worker` runs ``fn(progress, cancelled)`` in a QThread:

* ``progress(done, total, text=None)`` may be called from the worker at any rate; signals to the GUI
  are throttled so a tight loop cannot flood the event queue;
* ``cancelled()`` returns True once the user pressed Cancel; long functions poll it and raise
  :class:`OperationCancelled` (or return a partial result, which is then delivered as success).

Results and exceptions come back to the GUI thread through queued signals. :func:`run_with_progress`
adds a progress dialog with a Cancel button, shown at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from quant.errors import LungReadError

__all__ = ["OperationCancelled", "Worker", "run_with_progress", "stop_all", "ProgressFn", "CancelFn"]

ProgressFn = Callable[..., None]
CancelFn = Callable[[], bool]

# Running workers are kept alive here: a QThread garbage-collected while running aborts the process.
_alive: set["Worker"] = set()


class OperationCancelled(LungReadError):
    """The user cancelled a long operation."""

    def __init__(self, what: str = "The operation") -> None:
        super().__init__(f"{what} was cancelled.")


class Worker(QThread):
    """Runs one function off the GUI thread and reports back through signals."""

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    was_cancelled = Signal()

    def __init__(self, fn: Callable[[ProgressFn, CancelFn], object], *, name: str = "",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()
        self._last_emit = 0.0
        self.result: object = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.setObjectName(name or "worker")
        _alive.add(self)
        self.finished.connect(self._release)

    # called from the worker thread
    def _progress(self, done: float, total: float = 100, text: str | None = None) -> None:
        now = time.monotonic()
        if now - self._last_emit < 0.05 and done < total:
            return  # throttle: at most ~20 updates a second
        self._last_emit = now
        self.progressed.emit(int(done), int(total), text or "")

    def cancel(self) -> None:
        """Ask the function to stop at its next check."""
        self._cancel.set()

    def abandon(self) -> None:
        """Cancel and drop the outcome: no callback runs, the progress dialog closes now."""
        self.abandoned = True
        self.cancel()
        dialog = getattr(self, "dialog", None)
        if dialog is not None:
            dialog.reset()
            dialog.hide()

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # noqa: D102 - QThread entry point
        try:
            self.result = self._fn(self._progress, self._cancel.is_set)
        except OperationCancelled:
            self.was_cancelled.emit()
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread, never swallowed
            self.error = exc
            if self._cancel.is_set():
                self.was_cancelled.emit()
            else:
                self.failed.emit(exc)
            return
        # A function that returns normally delivers its result even after Cancel: it chose to
        # finish (e.g. opening a case with empty masks when segmentation was cancelled).
        self.succeeded.emit(self.result)

    def _release(self) -> None:
        _alive.discard(self)


T = TypeVar("T")  # what the background function returns and on_success receives


def run_with_progress(
    parent: QWidget | None,
    title: str,
    label: str,
    fn: Callable[[ProgressFn, CancelFn], T],
    *,
    on_success: Callable[[T], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_cancel: Callable[[], None] | None = None,
    cancellable: bool = True,
) -> Worker:
    """Start ``fn`` in a :class:`Worker` behind a progress dialog that is shown immediately.

    Exceptions without an ``on_error`` handler go to a plain error dialog (no traceback).
    """
    dialog = QProgressDialog(label, "Cancel" if cancellable else "", 0, 0, parent)
    dialog.setWindowTitle(title)
    dialog.setObjectName("progressDialog")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setMinimumWidth(380)
    if not cancellable:
        dialog.setCancelButton(None)

    worker = Worker(fn, name=title, parent=None)
    worker.dialog = dialog  # type: ignore[attr-defined]

    def screen_gone() -> bool:
        # The dialog dies with its parent: the screen that asked for the work was closed.
        return not shiboken6.isValid(dialog)

    def progressed(done: int, total: int, text: str) -> None:
        if worker.abandoned or screen_gone():
            return  # setValue would show the hidden dialog again
        if total > 0:
            dialog.setMaximum(total)
            dialog.setValue(min(done, total))
        if text:
            dialog.setLabelText(text)

    def close() -> None:
        if screen_gone():
            return
        dialog.reset()
        dialog.hide()
        dialog.deleteLater()

    def succeeded(result: T) -> None:
        gone = screen_gone()
        close()
        if on_success is not None and not worker.abandoned and not gone:
            on_success(result)

    def failed(exc: BaseException) -> None:
        gone = screen_gone()
        close()
        if worker.abandoned or gone:
            return
        if on_error is not None:
            on_error(exc)
        else:
            from desktop.app.application import show_exception

            show_exception(parent, exc, modal=False)

    def cancelled() -> None:
        gone = screen_gone()
        close()
        if on_cancel is not None and not worker.abandoned and not gone:
            on_cancel()

    def user_cancel() -> None:
        dialog.setLabelText("Cancelling…")
        worker.cancel()

    worker.progressed.connect(progressed)
    worker.succeeded.connect(succeeded)
    worker.failed.connect(failed)
    worker.was_cancelled.connect(cancelled)
    dialog.canceled.connect(user_cancel)
    dialog.show()
    worker.start()
    return worker


def stop_all(timeout_ms: int = 10000) -> None:
    """Cancel every running worker and wait for it (at application exit)."""
    for worker in list(_alive):
        worker.cancel()
    for worker in list(_alive):
        worker.wait(timeout_ms)
