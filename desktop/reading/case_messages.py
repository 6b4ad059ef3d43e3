"""What the reading workspace tells the reader about the open case: the banner when a case opens
(read-only and why, a restored draft, a cancelled or refused segmentation), the banner when the
service refuses every change, and the question when a draft could not be saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from db.services import ReadView
    from desktop.reading.case_loader import LoadedCase

__all__ = ["opening_messages", "refusal_text", "ask_leave_unsaved"]


def _when(read: ReadView | None, attr: str) -> str:
    value = getattr(read, attr, None) if read is not None else None
    if not value:
        return ""
    return f" from {str(value).replace('T', ' ')[:19]} UTC"


def opening_messages(loaded: LoadedCase, draft: ReadView | None, read_only: bool,
                     refusal: str | None) -> list[str]:
    """The banner lines of a case just opened (the first is also the status message)."""
    messages = []
    if refusal is not None:
        messages.append(f"Read-only: {refusal}; nothing can be changed or signed.")
    elif read_only:
        messages.append(f"This read is signed{_when(draft, 'signed_at')} and locked (read-only).")
    elif loaded.restored_draft and draft is not None:
        messages.append(f"Your draft{_when(draft, 'saved_at')} (revision {draft.revision}) was "
                        "restored: you continue where you left off.")
    if loaded.segmentation_cancelled:
        messages.append("Automatic segmentation was cancelled: the masks are empty. Paint by hand, "
                        "or mark the scan Not evaluable.")
    if loaded.segmentation_refused:
        messages.append(f"Automatic segmentation refused this scan ({loaded.segmentation_refused}): "
                        "the masks are empty. Mark the scan Not evaluable, or paint by hand.")
    return messages


def refusal_text(why: str, saved_revision: int | None) -> str:
    """The banner once the service refuses every change to the open case (locked, disabled...)."""
    kept = f"your draft revision {saved_revision} is kept" if saved_revision else "your last saved draft is kept"
    return (f"Read-only: {why[:1].upper() + why[1:]} The edits since the last save cannot be stored; "
            f"{kept}. Use ◀ Worklist, Sign out or Quit to leave.")


def ask_leave_unsaved(parent: QWidget, error: str) -> bool:
    """Saving failed for a reason that may pass (disk, network): True when the reader chooses to
    leave anyway, dropping the edits since the last saved draft."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Draft not saved", f"The draft could not be saved: {error}",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText("Stay to try again (Save draft), or leave and lose the edits since the last saved draft.")
    stay = box.addButton("Stay", QMessageBox.ButtonRole.RejectRole)
    leave = box.addButton("Leave without saving", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(stay)
    box.exec()
    return box.clickedButton() is leave

