"""The core-lab manager's screen: trial setup and manifest import, users, worklist, progress, lock.

Every rule is enforced by ``db.services``; this screen only collects input, runs the slow calls
(manifest import, worklist generation) in workers with progress, and shows the results.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from db import services
from desktop.app.session import AppContext
from desktop.app.workers import run_with_progress
from desktop.screens.charter_editor import CharterEditor
from desktop.screens.intake_tab import IntakeTab
from desktop.screens.packages import PackageTab
from quant.errors import LungReadError

if TYPE_CHECKING:
    from types import ModuleType

    from db.services import Database, ImportReport, LockView, WorklistReport
    from desktop.app.workers import Worker

__all__ = ["ManagerScreen"]

ROLES = ("reader", "adjudicator", "manager", "statistician")


def _table(headers: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[list[object]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))


class ManagerScreen(QTabWidget):
    status_message = Signal(str)
    title_changed = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("managerScreen")
        self.addTab(self._progress_tab(), "Progress")
        self.addTab(self._trial_tab(), "Trial setup")
        self.intake = IntakeTab(self.context)
        self.addTab(self.intake, "Intake")
        self.addTab(self._users_tab(), "Users")
        self.addTab(self._worklist_tab(), "Worklist")
        self.addTab(self._lock_tab(), "Lock database")
        self.addTab(self._packages_tab(), "Reading packages")
        self._worker = None
        QTimer.singleShot(0, self.refresh)

    # --- services ------------------------------------------------------------------------------
    def _services(self) -> ModuleType:
        return services

    def _db(self) -> Database:
        return self.context.database()

    def refresh(self) -> None:
        self.refresh_progress()
        self.intake.refresh()
        self.refresh_users()
        self.packages.refresh_readers()
        self.charter.load()

    def _packages_tab(self) -> QWidget:
        self.packages = PackageTab(self.context)
        self.packages.status_message.connect(self.status_message)
        self.packages.imported.connect(lambda _report: self.refresh_progress())
        return self.packages

    # --- progress ------------------------------------------------------------------------------
    def _progress_tab(self) -> QWidget:
        page = QWidget()
        self.summary = QLabel("")
        self.summary.setObjectName("progressSummary")
        self.summary.setWordWrap(True)
        self.progress_table = _table(["Reader", "Done", "Pending", "Total", "Adjudicated", "Adjudication rate"],
                                     "progressTable")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh_progress)
        layout = QVBoxLayout(page)
        layout.addWidget(self.summary)
        layout.addWidget(self.progress_table, 1)
        layout.addWidget(refresh)
        return page

    def refresh_progress(self) -> None:
        try:
            view = self._services().progress_dashboard(self._db(), self.context.actor)
        except LungReadError as exc:  # e.g. no trial yet: say so instead of a dialog
            text = str(exc)
            self.summary.setText(text[:1].upper() + text[1:] + ".")
            _fill(self.progress_table, [])
            return
        self.dashboard = view
        rows = []
        for reader, counts in sorted(view.tasks_by_reader.items()):
            done = int(counts.get("signed", 0))
            total = int(sum(counts.values()))
            adjudicated, paired = view.adjudication_by_reader.get(reader, (0, 0))
            rate = f"{100 * adjudicated / paired:.0f} % of {paired}" if paired else "—"
            rows.append([reader, done, total - done, total, adjudicated if paired else "—", rate])
        _fill(self.progress_table, rows)
        adj = view.adjudications_by_status
        state = "LOCKED" if view.locked else "open"
        if view.unblinded:
            state += ", unblinded"
        self.summary.setText(
            f"Database {state}. {view.n_scans} scans; tasks: "
            + ", ".join(f"{k} {v}" for k, v in sorted(view.tasks_by_status.items()))
            + "; adjudications: "
            + (", ".join(f"{k} {v}" for k, v in sorted(adj.items())) or "none")
            + (f" ({view.unassigned_adjudications} unassigned)" if view.unassigned_adjudications else "")
        )
        if hasattr(self, "lock_button"):
            self.lock_button.setEnabled(not view.locked)
            self.lock_state.setText("The database is locked: no read can change any more."
                                    if view.locked else "The database is open for reading.")

    # --- trial setup ---------------------------------------------------------------------------
    def _trial_tab(self) -> QWidget:
        page = QWidget()
        self.trial_name = QLineEdit("LungRead trial")
        self.trial_name.setObjectName("trialName")
        create = QPushButton("Create trial")
        create.clicked.connect(self.create_trial)
        import_button = QPushButton("Import manifest…")
        import_button.setObjectName("primary")
        import_button.clicked.connect(lambda: self.import_manifest())
        self.import_result = QLabel("")
        self.import_result.setObjectName("importResult")
        self.import_result.setWordWrap(True)
        self.bad_rows = _table(["Row", "Problem"], "badRows")
        self.bad_rows.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        form = QFormLayout()
        form.addRow("Trial name", self.trial_name)
        buttons = QHBoxLayout()
        buttons.addWidget(create)
        buttons.addWidget(import_button)
        buttons.addStretch(1)
        self.charter = CharterEditor(self.context)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.import_result)
        layout.addWidget(QLabel("Validation report (bad rows):"))
        layout.addWidget(self.bad_rows, 1)
        layout.addWidget(self.charter)
        return page

    def create_trial(self) -> None:
        view = self._services().create_trial(self._db(), self.context.actor, self.trial_name.text().strip())
        self.status_message.emit(f"Trial “{view.name}” created.")
        self.charter.load()

    def import_manifest(self, path: str | None = None) -> Worker | None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Import manifest", "", "Manifest (*.csv)")
        if not path:
            return None
        services, database, actor = self._services(), self._db(), self.context.actor

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            return services.import_manifest(
                database, actor, Path(path),
                progress=lambda done, total: progress(done, total, f"Checking series {done} of {total}…"))

        self._worker = run_with_progress(self, "Import manifest", "Checking the manifest's series…",
                                         work, on_success=self._imported, cancellable=False)
        return self._worker

    def _imported(self, report: ImportReport) -> None:
        _fill(self.bad_rows, [[e.row, e.message] for e in report.errors])
        if report.ok:
            self.import_result.setText(f"Imported {report.n_rows} rows: {report.created} new scans, "
                                       f"{report.unchanged} unchanged.")
        else:
            self.import_result.setText(f"Nothing was imported: {len(report.errors)} of {report.n_rows} "
                                       "rows have problems (listed below). Fix them and import again.")
        self.refresh_progress()
        self.intake.refresh()
        self.charter.load()

    # --- users ---------------------------------------------------------------------------------
    def _users_tab(self) -> QWidget:
        page = QWidget()
        self.users_table = _table(["User", "Role", "Active", "Sign-in paused until (UTC)", "Failed sign-ins", "Signing key"],
                                  "usersTable")
        self.new_user = QLineEdit()
        self.new_user.setObjectName("newUser")
        self.new_role = QComboBox()
        self.new_role.addItems(ROLES)
        self.new_password = QLineEdit()
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        add = QPushButton("Add user")
        add.clicked.connect(self.add_user)
        unlock = QPushButton("Unlock selected…")
        unlock.clicked.connect(self.unlock_selected)
        box = QGroupBox("New account")
        form = QFormLayout(box)
        form.addRow("User name", self.new_user)
        form.addRow("Role", self.new_role)
        form.addRow("Initial password", self.new_password)
        form.addRow(add)
        layout = QVBoxLayout(page)
        layout.addWidget(self.users_table, 1)
        layout.addWidget(unlock)
        layout.addWidget(box)
        return page

    def refresh_users(self) -> None:
        users = self._services().list_users(self._db(), self.context.actor)
        _fill(self.users_table, [[u.username, u.role, "yes" if u.active else "no",
                                  (u.locked_until or "")[11:19] if u.locked else "", u.failed_logins,
                                  (u.key_fingerprint or "none")[:16]] for u in users])

    def add_user(self) -> None:
        self._services().create_user(self._db(), self.context.actor, self.new_user.text().strip(),
                                     self.new_role.currentText(), self.new_password.text())
        self.status_message.emit(f"Account {self.new_user.text().strip()} created.")
        self.new_user.clear()
        self.new_password.clear()
        self.refresh_users()
        self.packages.refresh_readers()

    def unlock_selected(self) -> None:
        row = self.users_table.currentRow()
        if row < 0:
            return
        name = self.users_table.item(row, 0).text()
        reason, ok = QInputDialog.getText(self, "End sign-in pause", f"Reason for ending {name}'s sign-in pause:")
        if ok and reason.strip():
            self._services().unlock_user(self._db(), self.context.actor, name, reason.strip())
            self.refresh_users()

    # --- worklist ------------------------------------------------------------------------------
    def _worklist_tab(self) -> QWidget:
        page = QWidget()
        self.seed = QSpinBox()
        self.seed.setObjectName("worklistSeed")
        self.seed.setRange(0, 2**31 - 1)
        generate = QPushButton("Generate worklist")
        generate.setObjectName("primary")
        generate.clicked.connect(self.generate_worklist)
        self.worklist_result = QLabel("Each scan goes to two distinct readers; each reader's order is "
                                      "shuffled with the stored seed; case codes are random.")
        self.worklist_result.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Seed", self.seed)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(generate)
        layout.addWidget(self.worklist_result)
        layout.addStretch(1)
        return page

    def generate_worklist(self) -> None:
        services, database, actor, seed = self._services(), self._db(), self.context.actor, self.seed.value()

        def done(report: WorklistReport) -> None:
            per = ", ".join(f"{k}: {v}" for k, v in sorted(report.tasks_per_reader.items()))
            self.worklist_result.setText(f"{report.n_tasks} tasks for {report.n_scans} scans "
                                         f"(seed {report.seed}). Per reader: {per}.")
            self.refresh_progress()

        self._worker = run_with_progress(self, "Worklist", "Generating the worklist…",
                                         lambda p, c: services.generate_worklist(database, actor, seed),
                                         on_success=done, cancellable=False)

    # --- lock ----------------------------------------------------------------------------------
    def _lock_tab(self) -> QWidget:
        page = QWidget()
        self.lock_state = QLabel("")
        self.lock_state.setObjectName("lockState")
        self.lock_button = QPushButton("Lock database…")
        self.lock_button.setObjectName("danger")
        self.lock_button.clicked.connect(lambda: self.lock_database())
        layout = QVBoxLayout(page)
        layout.addWidget(QLabel("Locking ends the reading phase: after it no read, draft or "
                                "adjudication can change. The statistician can then unblind."))
        layout.addWidget(self.lock_state)
        layout.addWidget(self.lock_button)
        layout.addStretch(1)
        return page

    def lock_database(self, *, confirm: bool = True, override_reason: str | None = None) -> LockView | None:
        """Lock after confirmation; with open tasks, ask for an override reason."""
        view = self._services().progress_dashboard(self._db(), self.context.actor)
        open_tasks = sum(v for k, v in view.tasks_by_status.items() if k != "signed")
        open_adj = sum(v for k, v in view.adjudications_by_status.items() if k == "open")
        if (open_tasks or open_adj) and override_reason is None and not confirm:
            raise LungReadError(f"{open_tasks} reading tasks and {open_adj} adjudications are open: "
                                "give an override reason to lock anyway")
        if confirm:
            text = "Lock the database now? This cannot be undone."
            if open_tasks or open_adj:
                text += (f"\n\n{open_tasks} reading tasks and {open_adj} adjudications are not finished: "
                         "locking needs an override reason.")
            answer = QMessageBox.question(self, "Lock database", text)
            if answer != QMessageBox.StandardButton.Yes:
                return None
            if (open_tasks or open_adj) and override_reason is None:
                reason, ok = QInputDialog.getText(self, "Lock database", "Override reason:")
                if not ok or not reason.strip():
                    return None
                override_reason = reason.strip()
        lock = self._services().lock_database(self._db(), self.context.actor, override_reason=override_reason)
        self.status_message.emit("Database locked.")
        self.refresh_progress()
        return lock
