"""Draft autosave: every 30 s while there are unsaved edits, and on case switch / sign-out.

Drafts go to the database through ``db.services.save_draft`` (which keeps revisions), so after a
crash or a kill, reopening the case restores the last draft and the workspace says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

__all__ = ["Autosaver", "AUTOSAVE_INTERVAL_S"]

# Interval in seconds; LUNGREAD_AUTOSAVE_S overrides it (tests use a short one).
AUTOSAVE_INTERVAL_S = 30.0


def _interval_s() -> float:
    try:
        return float(os.environ.get("LUNGREAD_AUTOSAVE_S", AUTOSAVE_INTERVAL_S))
    except ValueError:
        return AUTOSAVE_INTERVAL_S


class Autosaver(QObject):
    """Calls ``save()`` (which returns the stored revision) when edits are pending.

    ``mark_dirty()`` after every edit; ``flush()`` on case switch, sign-out and close.
    """

    saved = Signal(int, str)  # revision, reason ("timer", "switch", "manual", ...)
    failed = Signal(object)

    def __init__(self, save: Callable[[], int], parent: QObject | None = None,
                 interval_s: float | None = None) -> None:
        super().__init__(parent)
        self._save = save
        self.dirty = False
        self.enabled = False
        self.last_revision: int | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 * (interval_s if interval_s is not None else _interval_s())))
        self.timer.timeout.connect(lambda: self.flush("timer"))

    def start(self) -> None:
        """Begin autosaving the currently open case."""
        self.enabled = True
        self.dirty = False
        self.timer.start()

    def stop(self) -> None:
        self.enabled = False
        self.dirty = False
        self.timer.stop()

    def mark_dirty(self) -> None:
        if self.enabled:
            self.dirty = True

    def flush(self, reason: str = "switch") -> bool:
        """Save now if something changed; True when the draft is safe (saved or nothing to save)."""
        if not self.enabled or not self.dirty:
            return True
        try:
            revision = self._save()
        except Exception as exc:  # noqa: BLE001 - reported to the user, editing continues
            self.failed.emit(exc)
            return False
        self.dirty = False
        self.last_revision = int(revision) if revision is not None else None
        self.saved.emit(self.last_revision or 0, reason)
        return True
