"""File -> Open reading package, shared by the login dialog and the main window: pick the package,
check it in a worker, hand its database URL on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QWidget

if TYPE_CHECKING:
    from desktop.app.workers import Worker


def open_reading_package(chooser: QWidget, path: str | None, opened: Callable[[str], None], *,
                         progress_parent: QWidget | None) -> Worker | None:
    """Ask for a package (its manifest.json or .zip) unless ``path`` is given, check it in a worker
    behind a progress dialog and call ``opened(database_url)``; returns the worker, or None when the
    user chose nothing."""
    if not path:
        path, _ = QFileDialog.getOpenFileName(
            chooser, "Open reading package (choose its manifest.json or the .zip)", "",
            "Reading package (manifest.json *.zip)")
    if not path:
        return None
    from db.services import package_url
    from desktop.app.workers import run_with_progress

    chosen = path
    return run_with_progress(progress_parent, "Open reading package", "Checking the reading package…",
                             lambda _p, _c: package_url(chosen), on_success=opened, cancellable=False)
