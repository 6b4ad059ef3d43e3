"""Access-checked export of every read revision: ``reads.csv`` and its data dictionary (access
rules: :mod:`db.exports.access`)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.endpoints.dataset import AnalysisDataset, collect_dataset
from db.engine import Database
from db.exports.access import audit_export, reads_access
from db.exports.read_columns import DATA_DICTIONARY, METRIC_COLUMNS
from db.models import AdjudicationTask, Randomization, Read, ReadTask, Scan, Subject, User, Visit
from db.records import Actor
from db.security.access import current_trial, lock_of
from quant.analysis.csv_cells import write_csv_rows

__all__ = ["READS_DICTIONARY", "export_reads"]


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


READS_DICTIONARY: dict[str, tuple[str, str, str]] = _reads_dictionary()


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
                Read.comment, Scan.id, func.coalesce(Scan.store_series_uid, Scan.series_uid), Visit.name, Visit.visit_day, Subject.id, Subject.code)
         .join(Scan, Read.scan_id == Scan.id).join(Visit, Scan.visit_id == Visit.id)
         .join(Subject, Visit.subject_id == Subject.id)
         .order_by(Subject.code, Visit.visit_day, Visit.name, Read.id))
    from quant.measure import from_json  # here: scipy loads only when reads are exported

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
            "measurements": "; ".join(m.describe() for m in from_json(metrics.get("measurements"))),
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
    write_csv_rows(out, list(READS_DICTIONARY), rows)
    write_csv_rows(out.with_name(out.stem + ".dictionary.csv"), ("column", "type", "unit", "description"),
                   ({"column": col, "type": typ, "unit": unit, "description": desc}
                    for col, (typ, unit, desc) in READS_DICTIONARY.items()))
    audit_export(db, actor, "reads", out, {"rows": len(rows), "with_arms": with_arms})
    return out
