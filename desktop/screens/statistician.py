"""The statistician's screen: unblind (only after lock), endpoint tables, figures, exports.

Numbers come from ``quant.analysis.tables`` over the endpoint values ``db.services.endpoint_table``
resolves under the charter; figures from ``quant.analysis.report`` (matplotlib ``Figure`` objects, shown in
a ``FigureCanvasQTAgg``). The slow parts run in workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from db import services
from db.services import analyse, analysis_dataset, export_analysis, export_reads
from desktop.app.session import AppContext
from desktop.app.workers import run_with_progress
from quant.analysis.arms import ArmError, choose_arms
from quant.errors import LungReadError

if TYPE_CHECKING:
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

    from db.services import Actor, AnalysisDataset, Database, UnblindReport
    from desktop.app.workers import Worker
    from quant.analysis.agreement import ReadPair
    from quant.analysis.tables import AnalysisResult

__all__ = ["StatisticianScreen", "analysis_from_database"]


def analysis_from_database(database: Database, actor: Actor, treatment: str | None = None,
                           control: str | None = None) -> tuple[AnalysisResult, list[ReadPair]]:
    """(quant.analysis.tables.AnalysisResult, read pairs) for the trial.

    The dataset (one endpoint record per scan, resolved under the charter, plus the double-read
    pairs; arms only for a statistician after unblinding) comes from ``db.endpoints.dataset``; the
    statistics from ``db.services.analyse``: treatment - control, the arms as chosen on the screen,
    else as the charter names them, else recognised by name.
    """
    dataset = analysis_dataset(database, actor)
    return analyse(dataset, treatment, control), list(dataset.pairs)


def _f(v: object, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _p(v: float | None) -> str:
    if v is None:
        return "—"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _table(headers: list[str], rows: list[list[str]], name: str) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(value))
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class StatisticianScreen(QWidget):
    status_message = Signal(str)
    title_changed = Signal(str)
    analysis_ready = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setObjectName("statisticianScreen")
        self.result: AnalysisResult | None = None
        self.pairs: list[ReadPair] = []
        self.worker: Worker | None = None
        self.locked = False
        self.unblinded = False

        self.state = QLabel("")
        self.state.setObjectName("lockState")
        self.state.setWordWrap(True)
        self.unblind_button = QPushButton("Unblind… (load randomization.csv)")
        self.unblind_button.setObjectName("primary")
        self.unblind_button.setToolTip("Enabled only once the manager has locked the database; audited")
        self.unblind_button.clicked.connect(lambda: self.unblind())
        self.compute_button = QPushButton("Compute endpoints")
        self.compute_button.clicked.connect(self.compute)
        self.export_tables = QPushButton("Export tables, figures and report…")
        self.export_tables.clicked.connect(lambda: self.export_all())
        self.export_reads = QPushButton("Export reads.csv…")
        self.export_reads.clicked.connect(lambda: self.export_reads_csv())
        # Which arm is the treatment: from the randomisation list, preset by the charter or by name.
        self.treatment_choice = QComboBox()
        self.treatment_choice.setObjectName("treatmentArm")
        self.control_choice = QComboBox()
        self.control_choice.setObjectName("controlArm")
        self.arms_label = QLabel("Treatment − control:")
        top = QHBoxLayout()
        top.addWidget(self.unblind_button)
        top.addWidget(self.arms_label)
        top.addWidget(self.treatment_choice)
        top.addWidget(QLabel("−"))
        top.addWidget(self.control_choice)
        top.addWidget(self.compute_button)
        top.addStretch(1)
        top.addWidget(self.export_reads)
        top.addWidget(self.export_tables)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("statsTabs")
        self.figure_choice = QComboBox()
        self.figure_holder = QVBoxLayout()
        fig_page = QWidget()
        fl = QVBoxLayout(fig_page)
        fl.addWidget(self.figure_choice)
        fl.addLayout(self.figure_holder, 1)
        self.figure_canvas: FigureCanvasQTAgg | None = None
        self.figure_choice.currentIndexChanged.connect(self._show_figure)
        self._fig_page = fig_page

        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        QTimer.singleShot(0, self.refresh_state)

    # ------------------------------------------------------------------ state
    def refresh_state(self) -> None:
        lock = services.lock_status(self.context.database())
        self.locked = lock is not None
        dataset = None
        if self.locked:
            try:
                dataset = analysis_dataset(self.context.database(), self.context.actor)
                self.unblinded = dataset.unblinded
            except LungReadError:  # e.g. no trial yet: stay blinded
                self.unblinded = False
        self._fill_arms(dataset if self.unblinded else None)
        if not self.locked:
            text = "The database is not locked yet: unblinding is possible only after the manager locks it."
        else:
            text = f"Database locked by {lock.locked_by} at {lock.locked_at.replace('T', ' ')[:19]} UTC."
            text += " Unblinded: arms are loaded." if self.unblinded else " Still blinded."
        self.state.setText(text)
        self.unblind_button.setEnabled(self.locked and not self.unblinded)
        self.export_tables.setEnabled(self.locked)
        self.export_reads.setEnabled(self.unblinded)

    def _fill_arms(self, dataset: AnalysisDataset | None) -> None:
        arms = list(dataset.arms) if dataset is not None else []
        if [self.treatment_choice.itemText(i) for i in range(self.treatment_choice.count())] != arms:
            for box in (self.treatment_choice, self.control_choice):
                box.clear()
                box.addItems(arms)
                box.setCurrentIndex(-1)
            if dataset is not None:
                try:
                    choice = choose_arms(arms, dataset.treatment_arm, dataset.control_arm)
                except ArmError:
                    pass  # the user chooses
                else:
                    self.treatment_choice.setCurrentText(choice.treatment)
                    self.control_choice.setCurrentText(choice.control)
        for w in (self.arms_label, self.treatment_choice, self.control_choice):
            w.setVisible(bool(arms))

    def chosen_arms(self) -> tuple[str | None, str | None]:
        """(treatment, control) as chosen on the screen; None where nothing is chosen."""
        return (self.treatment_choice.currentText() or None, self.control_choice.currentText() or None)

    def unblind(self, path: str | Path | None = None) -> UnblindReport | None:
        if not path:
            start = str(self.context.randomization_csv or "")
            path, _ = QFileDialog.getOpenFileName(self, "Randomisation list", start, "CSV (*.csv)")
        if not path:
            return None
        report = services.unblind(self.context.database(), self.context.actor, Path(path))
        self.unblinded = True
        arms = ", ".join(f"{k} {v}" for k, v in sorted(report.arms.items()))
        self.status_message.emit(f"Unblinded {report.n_subjects} subjects ({arms}).")
        self.refresh_state()
        self.compute()
        return report

    # ------------------------------------------------------------------ analysis
    def compute(self) -> None:
        database, actor = self.context.database(), self.context.actor
        treatment, control = self.chosen_arms()
        if self.unblinded and (treatment is None or control is None or treatment == control):
            message = "Choose the treatment and the control arm (two different arms) to compute the endpoints."
            self.state.setText(message)
            self.status_message.emit(message)
            return
        self.worker = run_with_progress(self, "Endpoints", "Computing endpoint statistics…",
                                        lambda p, c: analysis_from_database(database, actor, treatment, control),
                                        on_success=self._show, cancellable=False)

    def _show(self, out: tuple[AnalysisResult, list[ReadPair]]) -> None:
        self.result, self.pairs = out
        r = self.result
        self.tabs.clear()
        comp_rows = []
        for c in r.comparisons:
            hl, w = c.hl, c.welch
            comp_rows.append([
                c.visit, c.paramcd, c.variable, f"{c.n_treatment} / {c.n_control}",
                _f(getattr(hl, "estimate", None)),
                "—" if hl is None else f"{_f(hl.ci_low)} to {_f(hl.ci_high)}",
                _p(getattr(hl, "p_value", None)),
                _f(None if w is None else w.diff),
                _p(getattr(w, "p_value", None)), c.note,
            ])
        self.endpoint_table = _table(
            ["Visit", "Param", "Variable", f"n {r.treatment} / {r.control}", "HL shift", "95% CI",
             "Wilcoxon p", "Welch diff", "Welch p", "Note"], comp_rows, "endpointTable")
        self.tabs.addTab(self.endpoint_table, f"Endpoints ({r.treatment} − {r.control})")
        summ = [[s.visit, s.arm, s.paramcd, s.variable, f"{s.n} / {s.n_total}", _f(s.median),
                 f"{_f(getattr(s, 'q1', None))} – {_f(getattr(s, 'q3', None))}", _f(s.mean), _f(s.sd)]
                for s in r.summaries]
        self.tabs.addTab(_table(["Visit", "Arm", "Param", "Variable", "n / N", "Median", "IQR", "Mean", "SD"],
                                summ, "summaryTable"), "Summaries")
        props = [[p.visit, f"{p.k_treatment}/{p.n_treatment} (N {p.total_treatment})",
                  f"{p.k_control}/{p.n_control} (N {p.total_control})", _p(p.fisher_p),
                  _f(p.diff, 3), "—" if p.ci_low is None else f"{_f(p.ci_low, 3)} to {_f(p.ci_high, 3)}"]
                 for p in r.proportions]
        self.tabs.addTab(_table(["Visit", f"Normal CT {r.treatment}", f"Normal CT {r.control}", "Fisher p",
                                 "Difference", "95% CI (Newcombe)"], props, "normalTable"), "Normal CT")
        agree = [[a.scope, a.statistic, _f(a.estimate, 3),
                  "—" if a.ci_low is None else f"{_f(a.ci_low, 3)} to {_f(a.ci_high, 3)}", str(a.n), a.note]
                 for a in r.agreement]
        self.tabs.addTab(_table(["Scope", "Statistic", "Estimate", "95% CI", "n", "Note"], agree,
                                "agreementTable"), "Agreement")
        self.tabs.addTab(self._fig_page, "Figures")
        self.figure_choice.blockSignals(True)
        self.figure_choice.clear()
        self.figure_choice.addItems(["Lesion % by visit", "Solid % by visit", "Lesion % change",
                                     "Solid % change", "Bland–Altman: reader agreement (lesion %)"])
        self.figure_choice.blockSignals(False)
        self._show_figure()
        self.analysis_ready.emit()

    def _show_figure(self) -> None:
        if self.result is None:
            return
        # Lazy: matplotlib loads only when a figure is first shown.
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

        from quant.analysis.report import bland_altman_figure, visit_figure

        choice = [("LESPCT", "AVAL"), ("SOLPCT", "AVAL"), ("LESPCT", "CHG"), ("SOLPCT", "CHG"), None]
        picked = choice[max(self.figure_choice.currentIndex(), 0)]
        # The double reads' agreement comes from the read pairs, not from the arm comparisons.
        figure = bland_altman_figure(self.pairs) if picked is None else visit_figure(self.result, *picked)
        if self.figure_canvas is not None:
            self.figure_canvas.hide()
            self.figure_canvas.deleteLater()
        self.figure_canvas = FigureCanvasQTAgg(figure)
        self.figure_canvas.setObjectName("figureCanvas")
        self.figure_holder.addWidget(self.figure_canvas)
        self.figure_canvas.draw()

    # ------------------------------------------------------------------ exports
    def export_all(self, folder: str | Path | None = None) -> Worker | None:
        """Tables (ADaM-style CSVs + dictionaries), figures and the PDF report, through the
        access-checked, audited ``db.exports.analysis.export_analysis`` (in a worker)."""
        if not folder:
            folder = QFileDialog.getExistingDirectory(self, "Export to folder")
        if not folder:
            return None
        out = Path(folder)
        database, actor = self.context.database(), self.context.actor
        treatment, control = self.chosen_arms()

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            progress(0, 0, "Writing tables, figures and the report…")
            return export_analysis(database, actor, out, treatment=treatment, control=control)

        self.worker = run_with_progress(
            self, "Export", "Exporting…", work, cancellable=False,
            on_success=lambda done: self.status_message.emit(f"Exported {len(done.files)} files to {out}."))
        return self.worker

    def export_reads_csv(self, path: str | Path | None = None) -> Path | None:
        """``reads.csv`` + data dictionary (statistician: only once unblinded, with arms)."""
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export reads", "reads.csv", "CSV (*.csv)")
        if not path:
            return None
        written = export_reads(self.context.database(), self.context.actor, Path(path))
        self.status_message.emit(f"Reads exported to {written}.")
        return written
