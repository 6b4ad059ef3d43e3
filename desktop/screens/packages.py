"""The manager's "Reading packages" tab: export a reader's offline package, import a returned one.

Thin on purpose: :func:`db.packages.export.export_package` and :func:`db.packages.merge.import_package`
hold every rule (roles, lock, de-identification, verification, all-or-nothing merge). This tab only
collects the reader and paths, runs the call in a worker behind a progress dialog, and writes the
outcome into a read-only report area. A refused import lists every problem and conflict there
(no traceback, no modal dialog).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from db import services
from db.services import PackageRefused, export_package, import_package
from desktop.app.application import describe_exception
from desktop.app.session import AppContext
from desktop.app.workers import OperationCancelled, run_with_progress

if TYPE_CHECKING:
    from db.services import ExportReport, PackageImportReport
    from desktop.app.workers import Worker

__all__ = ["PackageTab", "describe_refusal", "describe_export"]


def describe_export(report: ExportReport) -> str:
    """The export result in plain lines (``report``: ``db.packages.export.ExportReport``)."""
    lines = [
        f"Package {report.package_id} exported for {report.reader}.",
        f"  cases: {report.n_tasks}",
        f"  files: {report.n_files}",
        f"  path:  {report.path}",
    ]
    if report.skipped_signed:
        lines.append(f"  {report.skipped_signed} case(s) already signed were not exported.")
    if getattr(report, "carried_drafts", 0):
        lines.append(f"  {report.carried_drafts} case(s) carry the reader's draft.")
    lines.append("Give this package to the reader; import it here when it comes back signed.")
    if getattr(report, "unlock_code", ""):
        lines.append(f"Unlock code (only if the reader's account locks in the package; give it by phone, not with "
                     f"the package): {report.unlock_code}")
    return "\n".join(lines)


def describe_refusal(exc: PackageRefused) -> str:
    """Every integrity problem and per-case conflict of a ``db.packages.errors.PackageRefused``."""
    lines = ["Import refused: nothing was imported; the master database is unchanged."]
    if exc.problems:
        lines.append(f"Integrity problems ({len(exc.problems)}):")
        lines += [f"  • {p}" for p in exc.problems]
    if exc.conflicts:
        lines.append(f"Conflicts ({len(exc.conflicts)}):")
        lines += [f"  • case {code}: {why}" for code, why in sorted(exc.conflicts.items())]
    return "\n".join(lines)


class PackageTab(QWidget):
    """Export and import of offline reading packages (manager)."""

    status_message = Signal(str)
    imported = Signal(object)  # the PackageImportReport of an import that ran (changed or not)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("packageTab")
        self.worker: Worker | None = None

        # --- export
        self.reader = QComboBox()
        self.reader.setObjectName("packageReader")
        self.reader.setEditable(True)  # an adjudicator who also reads can be typed in
        self.reader.setToolTip("The reader whose open (unsigned) cases go into the package")
        self.export_path = QLineEdit()
        self.export_path.setObjectName("packageExportPath")
        self.export_path.setPlaceholderText("new package folder (or .zip)")
        browse_out = QPushButton("Browse…")
        browse_out.clicked.connect(self._choose_export_path)
        self.zip_box = QCheckBox("Write one .zip file")
        self.zip_box.setObjectName("packageZip")
        self.export_button = QPushButton("Export package")
        self.export_button.setObjectName("primary")
        self.export_button.clicked.connect(lambda: self.export_package())
        out_row = QHBoxLayout()
        out_row.addWidget(self.export_path, 1)
        out_row.addWidget(browse_out)
        export_box = QGroupBox("Export for offline reading")
        ef = QFormLayout(export_box)
        ef.addRow("Reader", self.reader)
        ef.addRow("Package", out_row)
        ef.addRow("", self.zip_box)
        ef.addRow("", self.export_button)

        # --- import
        self.import_path = QLineEdit()
        self.import_path.setObjectName("packageImportPath")
        self.import_path.setPlaceholderText("returned package folder or .zip")
        browse_dir = QPushButton("Folder…")
        browse_dir.clicked.connect(self._choose_import_folder)
        browse_zip = QPushButton("Zip…")
        browse_zip.clicked.connect(self._choose_import_zip)
        self.import_button = QPushButton("Verify and import")
        self.import_button.setObjectName("primary")
        self.import_button.clicked.connect(lambda: self.import_package())
        in_row = QHBoxLayout()
        in_row.addWidget(self.import_path, 1)
        in_row.addWidget(browse_dir)
        in_row.addWidget(browse_zip)
        import_box = QGroupBox("Import a returned package")
        imf = QFormLayout(import_box)
        imf.addRow("Package", in_row)
        hint = QLabel("Every file, signature and the package's audit trail is verified first; "
                      "a package with any problem is refused whole.")
        hint.setObjectName("metricName")  # the theme's secondary (grey) text
        hint.setWordWrap(True)
        imf.addRow("", hint)
        imf.addRow("", self.import_button)

        # --- report
        self.report = QPlainTextEdit()
        self.report.setObjectName("packageReport")
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The result of the last export or import appears here.")

        boxes = QHBoxLayout()
        boxes.addWidget(export_box, 1)
        boxes.addWidget(import_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(boxes)
        layout.addWidget(QLabel("Result:"))
        layout.addWidget(self.report, 1)

    # ------------------------------------------------------------------ state
    def refresh_readers(self) -> None:
        """Fill the reader choice with the active reader accounts."""
        users = services.list_users(self.context.database(), self.context.actor)
        current = self.reader.currentText()
        names = [u.username for u in users if str(getattr(u.role, "value", u.role)) == "reader" and u.active]
        self.reader.blockSignals(True)
        self.reader.clear()
        self.reader.addItems(names)
        if current in names:
            self.reader.setCurrentText(current)
        self.reader.blockSignals(False)

    def _busy(self, busy: bool) -> None:
        self.export_button.setEnabled(not busy)
        self.import_button.setEnabled(not busy)

    def _show_error(self, exc: BaseException, heading: str) -> None:
        self._busy(False)
        if isinstance(exc, PackageRefused):
            self.report.setPlainText(describe_refusal(exc))
            self.status_message.emit("Package refused: nothing was imported.")
            return
        what, todo = describe_exception(exc)
        self.report.setPlainText(f"{heading}\n{what[:1].upper() + what[1:]}\n{todo}")
        self.status_message.emit(heading)

    # ------------------------------------------------------------------ export
    def _choose_export_path(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the new package")
        if folder:
            name = f"package-{self.reader.currentText().strip() or 'reader'}-{_dt.date.today():%Y%m%d}"
            self.export_path.setText(str(Path(folder) / name))

    def export_package(self) -> Worker | None:
        """Export the chosen reader's package to the path field (in a worker); returns the worker."""
        reader, out = self.reader.currentText().strip(), self.export_path.text().strip()
        if not reader or not out:
            self.report.setPlainText("Choose a reader and a new package folder first.")
            return None
        database, actor, zip_package = self.context.database(), self.context.actor, self.zip_box.isChecked()

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            def step(done: int, total: int) -> None:
                if cancelled():  # export_package removes its staging folder on the way out
                    raise OperationCancelled("The export")
                progress(done, total, f"De-identifying file {done} of {total}…")

            return export_package(database, actor, reader, out, zip_package=zip_package, progress=step)

        def done(report: ExportReport) -> None:
            self._busy(False)
            self.report.setPlainText(describe_export(report))
            self.status_message.emit(f"Package for {report.reader} exported to {report.path}.")

        def cancelled() -> None:
            self._busy(False)
            self.report.setPlainText("Export cancelled: no package was written.")

        self._busy(True)
        self.report.setPlainText(f"Exporting the package for {reader}…")
        self.worker = run_with_progress(self, "Export reading package", f"Exporting the package for {reader}…",
                                        work, on_success=done, on_cancel=cancelled,
                                        on_error=lambda exc: self._show_error(exc, "Export failed."))
        return self.worker

    # ------------------------------------------------------------------ import
    def _choose_import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Returned package folder")
        if folder:
            self.import_path.setText(folder)

    def _choose_import_zip(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Returned package", "", "Reading package (*.zip)")
        if path:
            self.import_path.setText(path)

    def import_package(self) -> Worker | None:
        """Verify and merge the package in the path field (in a worker); returns the worker."""
        path = self.import_path.text().strip()
        if not path:
            self.report.setPlainText("Choose a returned package folder or .zip first.")
            return None
        database, actor = self.context.database(), self.context.actor

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            return import_package(database, actor, Path(path),
                                  progress=lambda msg: progress(0, 0, msg[:1].upper() + msg[1:] + "…"))

        def done(report: PackageImportReport) -> None:
            self._busy(False)
            self.report.setPlainText("Import " + ("done" if report.changed else "checked") + ": "
                                     + report.describe() + ".")
            self.status_message.emit(f"Package {report.package_id} imported."
                                     if report.changed else "Package already imported: nothing changed.")
            self.imported.emit(report)

        self._busy(True)
        self.report.setPlainText(f"Verifying {path}…")
        self.worker = run_with_progress(self, "Import reading package", "Verifying the package…", work,
                                        on_success=done, cancellable=False,
                                        on_error=lambda exc: self._show_error(exc, "Import failed."))
        return self.worker
