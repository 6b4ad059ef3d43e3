"""CSV export of every signed read, with a data dictionary next to it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import current_trial, require_role, unblinding_of
from .endpoints import resolve_endpoint
from .engine import Database
from .models import AdjudicationTask, Randomization, Read, ReadTask, Scan, Subject, User, Visit
from .views import Actor

__all__ = ["export_reads_csv", "DATA_DICTIONARY", "dictionary_path"]

METRIC_COLUMNS = ("lung_ml", "lung_left_ml", "lung_right_ml", "ggo_ml", "solid_ml", "lesion_ml",
                  "lesion_pct_left", "lesion_pct_right", "solid_pct_left", "solid_pct_right")

# column -> (type, unit, description)
DATA_DICTIONARY: dict[str, tuple[str, str, str]] = {
    "read_id": ("integer", "", "database id of the signed read (endpoint source ids refer to it)"),
    "subject": ("text", "", "pseudonymous subject code from the manifest"),
    "visit": ("text", "", "visit name from the manifest"),
    "visit_day": ("integer", "days", "nominal study day of the visit"),
    "arm": ("text", "", "randomised arm; empty until the statistician has unblinded the locked database"),
    "series_uid": ("text", "", "DICOM SeriesInstanceUID of the read series"),
    "case_code": ("text", "", "random case code the reader or adjudicator saw"),
    "reader": ("text", "", "username of the signer"),
    "read_kind": ("text", "", "reader1 / reader2 (independent reads) or adjudicator (adjudicator's own read)"),
    "revision": ("integer", "", "revision number of the signed read (drafts before it are kept)"),
    "signed_at": ("text", "UTC ISO-8601", "time of the e-signature"),
    "sign_meaning": ("text", "", "meaning of the e-signature"),
    "lesion_pct": ("float", "% of lung volume", "(GGO + solid) / whole-lung volume x 100"),
    "solid_pct": ("float", "% of lung volume", "solid / whole-lung volume x 100"),
    "normal_ct": ("boolean", "", "reader's normal-CT call (true/false, empty if not given)"),
    "confidence": ("integer", "1-5", "reader's confidence"),
    "not_evaluable_reason": ("text", "", "set when the reader marked the scan not evaluable"),
    **{c: ("float", "mL" if c.endswith("_ml") else "% of that lung's volume", f"measured {c}") for c in METRIC_COLUMNS},
    "algorithm_version": ("text", "", "version of the automatic segmentation the read started from"),
    "protocol_hash": ("text", "", "SHA-256 of the quantification protocol parameters"),
    "comment": ("text", "", "reader's free-text comment"),
    "endpoint_status": ("text", "", "concordant / adjudicated / missing / pending for the scan"),
    "endpoint_source": ("boolean", "", "true when this read is a source of the scan's endpoint value"),
}


def dictionary_path(out: Path) -> Path:
    """``reads.csv`` -> ``reads.dictionary.csv``."""
    return out.with_name(out.stem + ".dictionary.csv")


def export_reads_csv(db: Database, actor: Actor, out: str | Path) -> Path:
    """Manager or statistician: write every signed read to ``out`` and the data dictionary beside it."""
    out = Path(out)

    def work(s: Session) -> list[dict[str, object]]:
        require_role(s, actor, ("manager", "statistician"), "only a manager or statistician may export reads")
        trial = current_trial(s)
        arms: dict[int, str] = {}
        if unblinding_of(s, trial) is not None:
            arms = dict(s.execute(select(Randomization.subject_id, Randomization.arm)).all())
        names = dict(s.execute(select(User.id, User.username)).all())
        rows: list[dict[str, object]] = []
        endpoints = {}
        q = (select(Read, Scan, Visit, Subject).join(Scan, Read.scan_id == Scan.id)
             .join(Visit, Scan.visit_id == Visit.id).join(Subject, Visit.subject_id == Subject.id)
             .where(Read.status == "signed").order_by(Subject.code, Visit.visit_day, Visit.name, Read.id))
        for read, scan, visit, subject in s.execute(q):
            if scan.id not in endpoints:
                endpoints[scan.id] = resolve_endpoint(s, scan.id)
            ep = endpoints[scan.id]
            if read.task_id is not None:
                task = s.get(ReadTask, read.task_id)
                assert task is not None
                code, kind = task.case_code, f"reader{task.reader_slot}"
            else:
                adj = s.scalars(select(AdjudicationTask).where(AdjudicationTask.chosen_read_id == read.id)).first()
                code, kind = (adj.case_code if adj else ""), "adjudicator"
            metrics = json.loads(read.metrics_json)
            row: dict[str, object] = {
                "read_id": read.id, "subject": subject.code, "visit": visit.name, "visit_day": visit.visit_day,
                "arm": arms.get(subject.id, ""), "series_uid": scan.series_uid, "case_code": code,
                "reader": names.get(read.author_id, ""), "read_kind": kind, "revision": read.revision,
                "signed_at": read.signed_at, "sign_meaning": read.sign_meaning, "lesion_pct": read.lesion_pct,
                "solid_pct": read.solid_pct,
                "normal_ct": "" if read.normal_ct is None else str(bool(read.normal_ct)).lower(),
                "confidence": read.confidence, "not_evaluable_reason": read.not_evaluable_reason or "",
                **{c: metrics.get(c) for c in METRIC_COLUMNS},
                "algorithm_version": read.algorithm_version or "", "protocol_hash": read.protocol_hash or "",
                "comment": read.comment, "endpoint_status": ep.status,
                "endpoint_source": str(read.id in ep.source_read_ids).lower(),
            }
            rows.append({k: ("" if v is None else v) for k, v in row.items()})
        return rows

    rows = db.read(work)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(DATA_DICTIONARY))
        writer.writeheader()
        writer.writerows(rows)
    with open(dictionary_path(out), "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["column", "type", "unit", "description"])
        for col, (typ, unit, desc) in DATA_DICTIONARY.items():
            writer.writerow([col, typ, unit, desc])
    return out
