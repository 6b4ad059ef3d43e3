"""Access-checked export of the endpoint analysis: ``adqct.csv``, ``endpoints.csv``,
``agreement.csv``, their data dictionaries, PNG figures and the PDF report (access rules:
:mod:`db.exports.access`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from db.endpoints.dataset import AnalysisDataset, collect_dataset
from db.engine import Database
from db.exports.access import analysis_access, audit_export
from db.exports.report_cover import cover_lines
from db.models import User
from db.records import Actor
from db.security.access import charter_of, current_trial
from quant.analysis.tables import AnalysisResult, run_analysis

if TYPE_CHECKING:
    from quant.analysis.report_pool import ReportDrawing, ReportPool

__all__ = ["AnalysisExport", "PendingAnalysisExport", "analyse", "begin_analysis_export", "export_analysis"]


def analyse(dataset: AnalysisDataset, treatment: str | None = None, control: str | None = None) -> AnalysisResult:
    """The analysis tables of ``dataset``: treatment - control, the arms named by ``treatment`` /
    ``control`` (e.g. ``lungread stats --treatment``), else by the charter, else recognised by name
    (:func:`quant.analysis.arms.choose_arms`).

    Raises:
        ArmError: the arms cannot be told apart, or a named arm is not in the randomisation list.
    """
    if treatment is None and control is None:  # names given at analysis time replace the charter's
        treatment, control = dataset.treatment_arm, dataset.control_arm
    return run_analysis(dataset.records, dataset.pairs, treatment, control, arms=dataset.arms or None,
                        primary_visit=dataset.primary_visit, multiplicity=dataset.multiplicity,
                        randomised=dataset.randomised, mitt_rule=dataset.mitt_rule)


@dataclass(frozen=True)
class AnalysisExport:
    """What :func:`export_analysis` wrote (name -> path) and the analysis it computed."""

    files: dict[str, Path]
    result: AnalysisResult
    dataset: AnalysisDataset
    figures: dict[str, Path] = field(default_factory=dict)
    report: Path | None = None


class PendingAnalysisExport:
    """An endpoint analysis computed and written as CSV whose figures and report may still be
    drawing (:func:`begin_analysis_export`); :meth:`finish` waits for them, records the export
    in the audit trail and returns the :class:`AnalysisExport`."""

    def __init__(self, db: Database, actor: Actor, out_dir: Path, result: AnalysisResult, dataset: AnalysisDataset,
                 files: dict[str, Path], drawing: "ReportDrawing | None") -> None:
        self.result = result
        self.dataset = dataset
        self._db, self._actor, self._out_dir = db, actor, out_dir
        self._files = files
        self._drawing = drawing
        self._finished: AnalysisExport | None = None

    def finish(self) -> AnalysisExport:
        """Wait for the drawing, audit the export (once) and return what was written."""
        if self._finished is not None:
            return self._finished
        files = dict(self._files)
        figure_files: dict[str, Path] = {}
        pdf: Path | None = None
        if self._drawing is not None:
            figure_files, pdf = self._drawing.result()
            if pdf is not None:
                files["report"] = pdf
            files.update({f"figure:{k}": v for k, v in figure_files.items()})
        files["audit_anchor"] = audit_export(self._db, self._actor, "analysis", self._out_dir, {
            "files": sorted(p.name for p in files.values()), "unblinded": self.dataset.unblinded,
            "n_records": len(self.dataset.records), "n_pending": self.dataset.n_pending,
        })
        self._finished = AnalysisExport(files=files, result=self.result, dataset=self.dataset, figures=figure_files,
                                        report=pdf)
        return self._finished


def begin_analysis_export(
    db: Database,
    actor: Actor,
    out_dir: str | Path,
    *,
    figures: bool = True,
    report: bool = True,
    treatment: str | None = None,
    control: str | None = None,
    report_pool: "ReportPool | None" = None,
) -> PendingAnalysisExport:
    """Compute the endpoint analysis, start drawing its figures and report, and write its CSV
    files into ``out_dir``; returns before the drawing is done (see :func:`export_analysis`,
    which takes the same arguments and waits)."""
    from quant.analysis.csv_export import write_analysis_csvs
    from quant.analysis.report_pool import ReportPool

    out_dir = Path(out_dir)

    def work(s: Session) -> tuple[User, AnalysisDataset, tuple[str, ...]]:
        user, unblinded = analysis_access(s, actor)
        trial = current_trial(s)
        return user, collect_dataset(s, with_arms=unblinded), cover_lines(s, trial, charter_of(trial))

    user, dataset, provenance = db.read(work)
    result = dataclasses.replace(analyse(dataset, treatment, control), provenance=provenance)
    drawing = None
    if figures or report:
        title = f"{dataset.studyid}: LungRead endpoint report" + ("" if dataset.unblinded else " (BLINDED)")
        # Without a pool the report is drawn here, in finish() (an unstarted pool never draws elsewhere).
        pool = report_pool if report_pool is not None else ReportPool(parallel=False)
        drawing = pool.submit(result, dataset.pairs, png_dir=out_dir / "figures" if figures else None,
                              pdf_path=out_dir / "report.pdf" if report else None, title=title)
    files = dict(write_analysis_csvs(result, out_dir, dataset.studyid))  # while the workers draw
    return PendingAnalysisExport(db, actor, out_dir, result, dataset, files, drawing)


def export_analysis(
    db: Database,
    actor: Actor,
    out_dir: str | Path,
    *,
    figures: bool = True,
    report: bool = True,
    treatment: str | None = None,
    control: str | None = None,
    report_pool: "ReportPool | None" = None,
) -> AnalysisExport:
    """Compute the endpoint analysis and write it into ``out_dir``.

    Files: ``adqct.csv``, ``endpoints.csv``, ``agreement.csv`` and their ``*.dictionary.csv``
    (:func:`quant.analysis.csv_export.write_analysis_csvs`); with ``figures`` the PNG figures in
    ``out_dir/figures``; with ``report`` ``out_dir/report.pdf`` (figures drawn once for both).
    ``report_pool`` draws the figures and the PDF in worker processes (``lungread stats``);
    without it they are drawn here. Access: see the module docstring.

    Raises:
        WorkflowError: the database is not locked.
        PermissionDenied: not a manager/statistician, or a manager after unblinding.
    """
    return begin_analysis_export(db, actor, out_dir, figures=figures, report=report, treatment=treatment,
                                 control=control, report_pool=report_pool).finish()
