"""Access-checked exports: every read revision, the endpoint analysis (CSV, figures, PDF report).

Who may export what, and when (the rules live here, so the CLI and the GUI share them):

* ``reads.csv`` (:func:`export_reads`): a manager at any time, always *without* arms (the core lab
  stays blind); a statistician only once the locked database is unblinded, *with* arms. Before
  unblinding nobody but a manager may export reads.
* the endpoint analysis (:func:`export_analysis`: ``adqct.csv``, ``endpoints.csv``,
  ``agreement.csv``, their data dictionaries, PNG figures, PDF report) needs a locked database.
  Before unblinding a manager or a statistician gets the blinded analysis (no arm: tables pooled
  over arms, no between-arm statistics); once unblinded the analysis carries arms and only a
  statistician may run it.
* masks (:mod:`db.exports.masks`) follow the reads rule.

Every export is recorded in the audit trail (who, what, where).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.endpoints.dataset import AnalysisDataset, collect_dataset
from db.engine import Database
from db.errors import PermissionDenied, WorkflowError
from db.exports.read_columns import DATA_DICTIONARY, METRIC_COLUMNS
from db.models import AdjudicationTask, Randomization, Read, ReadTask, Scan, Subject, User, Visit
from db.records import Actor
from db.security.access import current_trial, lock_of, require_role, unblinding_of
from db.security.audit import AuditAnchor, append_event, write_anchor
from quant.analysis.tables import AnalysisResult, run_analysis

if TYPE_CHECKING:
    from quant.analysis.report_pool import ReportDrawing, ReportPool

__all__ = [
    "READS_DICTIONARY",
    "AnalysisExport",
    "reads_access",
    "analysis_access",
    "export_reads",
    "export_analysis",
    "begin_analysis_export",
    "PendingAnalysisExport",
    "audit_export",
]

READS_RULE = (
    "before unblinding only a manager may export reads (without arms); after the statistician has "
    "unblinded the locked database, a statistician may export them with arms"
)
ANALYSIS_RULE = (
    "the endpoint analysis needs a locked database; before unblinding a manager or statistician gets it "
    "blinded (no arms); once unblinded only a statistician may run it"
)


def _reads_dictionary() -> dict[str, tuple[str, str, str]]:
    out: dict[str, tuple[str, str, str]] = {}
    for col, entry in DATA_DICTIONARY.items():
        if col == "revision":
            entry = ("integer", "", "revision number of the read within its task (1, 2, ...; every autosave is one)")
        if col == "read_id":
            entry = ("integer", "", "database id of the read revision (endpoint source ids refer to it)")
        if col in ("signed_at", "sign_meaning"):
            entry = (entry[0], entry[1], entry[2] + " (empty for a draft)")
        out[col] = entry
        if col == "revision":
            out["status"] = ("text", "", "draft (autosaved, not signed) | signed | reopened (signed, then reopened "
                             "with a reason: no longer valid)")
            out["superseded"] = ("boolean", "", "true when a later revision of the same task exists (only the "
                                 "newest revision of a task can be a source of the endpoint)")
            out["saved_at"] = ("text", "UTC ISO-8601", "time the revision was saved")
    return out


#: column -> (type, unit, description) of ``reads.csv``: db.exports.read_columns's columns plus revision state.
READS_DICTIONARY: dict[str, tuple[str, str, str]] = _reads_dictionary()


@dataclass(frozen=True)
class AnalysisExport:
    """What :func:`export_analysis` wrote (name -> path) and the analysis it computed."""

    files: dict[str, Path]
    result: AnalysisResult
    dataset: AnalysisDataset
    figures: dict[str, Path] = field(default_factory=dict)
    report: Path | None = None


def reads_access(s: Session, actor: Actor) -> tuple[User, bool]:
    """Check the reads rule; returns the user and whether the export may carry arms."""
    user = require_role(s, actor, ("manager", "statistician"), f"only a manager or statistician may export reads: {READS_RULE}")
    unblinded = unblinding_of(s, current_trial(s)) is not None
    if user.role == "statistician" and not unblinded:
        raise PermissionDenied(f"the trial is not unblinded yet: {READS_RULE} (you are {user.username!r}, a statistician)")
    return user, user.role == "statistician" and unblinded


def analysis_access(s: Session, actor: Actor) -> tuple[User, bool]:
    """Check the analysis rule; returns the user and whether the analysis carries arms."""
    user = require_role(s, actor, ("manager", "statistician"), f"only a manager or statistician may run the endpoint analysis: {ANALYSIS_RULE}")
    trial = current_trial(s)
    if lock_of(s, trial) is None:
        raise WorkflowError(f"the database is not locked: {ANALYSIS_RULE}. A manager locks it once every read is signed")
    unblinded = unblinding_of(s, trial) is not None
    if unblinded and user.role != "statistician":
        raise PermissionDenied(
            f"the trial is unblinded, so the analysis carries arms: only a statistician may run it "
            f"(you are {user.username!r}, {user.role})"
        )
    return user, unblinded


def audit_export(db: Database, user: User, what: str, out: Path, details: dict[str, object]) -> Path:
    """Append one ``export`` event (who exported what, where) in its own transaction, then anchor
    the audit trail at that event: ``audit_anchor.json`` in the export's folder (see
    :mod:`db.security.audit`). Returns the anchor file."""

    def work(s: Session) -> AuditAnchor:
        ev = append_event(s, user_id=user.id, username=user.username, action="export", entity=what,
                          entity_id=None, new={"path": str(out), **details})
        return AuditAnchor(ev.id, ev.hash, ev.ts, db.url)

    anchor = db.write(work)
    return write_anchor(anchor, out if out.is_dir() else out.parent)


def _read_rows(s: Session, with_arms: bool, status_of: dict[int, tuple[str, tuple[int, ...]]] | None = None,
               ) -> list[dict[str, object]]:
    """Every read revision (drafts, signed, reopened) with its state, in subject/visit/read order.
    ``status_of``: :attr:`AnalysisDataset.endpoint_status`, collected here when not given."""
    arms = dict(s.execute(select(Randomization.subject_id, Randomization.arm)).all()) if with_arms else {}
    names = dict(s.execute(select(User.id, User.username)).all())
    tasks = {tid: (code, slot) for tid, code, slot in
             s.execute(select(ReadTask.id, ReadTask.case_code, ReadTask.reader_slot))}
    own = dict(s.execute(select(AdjudicationTask.chosen_read_id, AdjudicationTask.case_code)
                         .where(AdjudicationTask.choice == "own")).all())
    newest: dict[int, int] = {}
    for task_id, revision in s.execute(select(Read.task_id, Read.revision).where(Read.task_id.is_not(None))):
        newest[task_id] = max(revision, newest.get(task_id, 0))
    if status_of is None:
        status_of = collect_dataset(s, with_arms=False).endpoint_status
    # Plain column tuples, not ORM entities: ~5x faster for the thousands of reads of a trial.
    q = (select(Read.id, Read.task_id, Read.revision, Read.status, Read.author_id, Read.saved_at, Read.signed_at,
                Read.sign_meaning, Read.lesion_pct, Read.solid_pct, Read.normal_ct, Read.confidence,
                Read.not_evaluable_reason, Read.metrics_json, Read.algorithm_version, Read.protocol_hash,
                Read.comment, Scan.id, Scan.series_uid, Visit.name, Visit.visit_day, Subject.id, Subject.code)
         .join(Scan, Read.scan_id == Scan.id).join(Visit, Scan.visit_id == Visit.id)
         .join(Subject, Visit.subject_id == Subject.id)
         .order_by(Subject.code, Visit.visit_day, Visit.name, Read.id))
    rows = []
    for (rid, task_id, revision, status, author, saved_at, signed_at, meaning, lesion, solid, normal, confidence,
         not_evaluable, metrics_json, algo, phash, comment, scan_id, series_uid, visit, day, subject_id,
         subject) in s.execute(q):
        if task_id is not None:
            code, slot = tasks[task_id]
            kind, superseded = f"reader{slot}", revision < newest[task_id]
        else:
            code, kind, superseded = own.get(rid, ""), "adjudicator", False
        ep_status, sources = status_of.get(scan_id, ("pending", ()))
        metrics = json.loads(metrics_json)
        row: dict[str, object] = {
            "read_id": rid, "subject": subject, "visit": visit, "visit_day": day,
            "arm": arms.get(subject_id, ""), "series_uid": series_uid, "case_code": code,
            "reader": names.get(author, ""), "read_kind": kind, "revision": revision,
            "status": status, "superseded": "true" if superseded else "false", "saved_at": saved_at,
            "signed_at": signed_at, "sign_meaning": meaning, "lesion_pct": lesion, "solid_pct": solid,
            "normal_ct": "" if normal is None else ("true" if normal else "false"),
            "confidence": confidence, "not_evaluable_reason": not_evaluable or "",
            **{c: metrics.get(c) for c in METRIC_COLUMNS},
            "algorithm_version": algo or "", "qc_flags": metrics.get("qc_flags") or "",
            "protocol_hash": phash or "", "comment": comment,
            "endpoint_status": ep_status, "endpoint_source": "true" if rid in sources else "false",
        }
        # repr keeps every digit of a float, so the CSV round-trips exactly (as in adqct.csv).
        rows.append({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return rows


def export_reads(db: Database, actor: Actor, out: str | Path, *, dataset: AnalysisDataset | None = None) -> Path:
    """Write ``reads.csv`` (every revision of every read, superseded ones flagged) and
    ``reads.dictionary.csv`` beside it. Access: see the module docstring. Returns ``out``.

    ``dataset``: the analysis dataset of this database, taken after it was locked (nothing can
    change since), to reuse its endpoint status instead of collecting it again; ignored while
    the database is not locked.

    Raises:
        PermissionDenied: a reader or adjudicator, or a statistician before unblinding.
    """
    out = Path(out)

    def work(s: Session) -> tuple[User, bool, list[dict[str, object]]]:
        user, with_arms = reads_access(s, actor)
        reuse = dataset is not None and dataset.locked and lock_of(s, current_trial(s)) is not None
        return user, with_arms, _read_rows(s, with_arms, dataset.endpoint_status if reuse else None)

    user, with_arms, rows = db.read(work)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(READS_DICTIONARY), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    dictionary = out.with_name(out.stem + ".dictionary.csv")
    with open(dictionary, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["column", "type", "unit", "description"])
        for col, (typ, unit, desc) in READS_DICTIONARY.items():
            writer.writerow([col, typ, unit, desc])
    audit_export(db, user, "reads", out, {"rows": len(rows), "with_arms": with_arms})
    return out


class PendingAnalysisExport:
    """An endpoint analysis computed and written as CSV whose figures and report may still be
    drawing (:func:`begin_analysis_export`); :meth:`finish` waits for them, records the export
    in the audit trail and returns the :class:`AnalysisExport`."""

    def __init__(self, db: Database, user: User, out_dir: Path, result: AnalysisResult, dataset: AnalysisDataset,
                 files: dict[str, Path], drawing: "ReportDrawing | None") -> None:
        self.result = result
        self.dataset = dataset
        self._db, self._user, self._out_dir = db, user, out_dir
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
        files["audit_anchor"] = audit_export(self._db, self._user, "analysis", self._out_dir, {
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
    treatment: str = "MSC",
    control: str = "Placebo",
    report_pool: "ReportPool | None" = None,
) -> PendingAnalysisExport:
    """Compute the endpoint analysis, start drawing its figures and report, and write its CSV
    files into ``out_dir``; returns before the drawing is done (see :func:`export_analysis`,
    which takes the same arguments and waits)."""
    from quant.analysis.csv_export import write_analysis_csvs
    from quant.analysis.report_pool import ReportPool

    out_dir = Path(out_dir)

    def work(s: Session) -> tuple[User, AnalysisDataset]:
        user, unblinded = analysis_access(s, actor)
        return user, collect_dataset(s, with_arms=unblinded)

    user, dataset = db.read(work)
    result = run_analysis(dataset.records, dataset.pairs, treatment, control)
    drawing = None
    if figures or report:
        title = f"{dataset.studyid}: LungRead endpoint report" + ("" if dataset.unblinded else " (BLINDED)")
        # Without a pool the report is drawn here, in finish() (an unstarted pool never draws elsewhere).
        pool = report_pool if report_pool is not None else ReportPool(parallel=False)
        drawing = pool.submit(result, dataset.pairs, png_dir=out_dir / "figures" if figures else None,
                              pdf_path=out_dir / "report.pdf" if report else None, title=title)
    files = dict(write_analysis_csvs(result, out_dir, dataset.studyid))  # while the workers draw
    return PendingAnalysisExport(db, user, out_dir, result, dataset, files, drawing)


def export_analysis(
    db: Database,
    actor: Actor,
    out_dir: str | Path,
    *,
    figures: bool = True,
    report: bool = True,
    treatment: str = "MSC",
    control: str = "Placebo",
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
