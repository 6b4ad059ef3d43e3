"""Trial creation (with its charter) and scan import from a manifest CSV."""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.engine import Database
from db.errors import ManifestError, WorkflowError
from db.models import Scan, Subject, Trial, Visit
from db.records import Actor, ImportReport, ImportRowError, Signer, TrialView
from db.security.access import charter_of, current_trial, refuse_if_locked, require_role, signing_key
from db.security.audit import append_event, utc_now
from db.security.signed_state import scan_state, trial_state
from db.workflow.image_store import discarded_on_failure, store_root, trial_uid_key
from db.workflow.intake_batch import check_and_store_rows
from db.workflow.series_check import IntakeRow

__all__ = ["create_trial", "get_trial", "import_manifest", "DEFAULT_TRIAL_NAME", "REQUIRED_COLUMNS"]

DEFAULT_TRIAL_NAME = "trial"
REQUIRED_COLUMNS = ("subject", "visit", "series_folder")
_MANAGER_RULE = "only a manager may {what}, before the database is locked"


def _trial_view(trial: Trial) -> TrialView:
    return TrialView(trial.id, trial.name, charter_of(trial))


def _insert_trial(s: Session, manager_id: int, manager_name: str, name: str, charter: Charter,
                  key: Signer) -> Trial:
    trial = Trial(name=name, charter_json=charter.to_json(), worklist_seed=None, created_at=utc_now())
    s.add(trial)
    s.flush()
    append_event(s, user_id=manager_id, username=manager_name, action="create", entity="trial",
                 entity_id=trial.id, new={"name": name, "charter": json.loads(charter.to_json())}, signer=key,
                 state=trial_state(trial))
    return trial


def create_trial(db: Database, actor: Actor, name: str, charter: Charter | None = None) -> TrialView:
    """Manager: create the trial of this database with its charter (one trial per database)."""
    charter = charter or Charter()

    def work(s: Session) -> TrialView:
        manager = require_role(s, actor, ("manager",), _MANAGER_RULE.format(what="create a trial"))
        if s.scalar(select(Trial.id).limit(1)) is not None:
            raise WorkflowError("this database already holds a trial; use one database per trial")
        return _trial_view(_insert_trial(s, manager.id, manager.username, name, charter,
                                         signing_key(actor)))

    return db.write(work)


def get_trial(db: Database) -> TrialView:
    return db.read(lambda s: _trial_view(current_trial(s)))


class _Abort(Exception):
    def __init__(self, errors: list[ImportRowError]) -> None:
        self.errors = errors


def _read_manifest(csv_path: Path) -> list[dict[str, str]]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise ManifestError(
                    f"{csv_path}: missing column(s) {', '.join(missing)}; a manifest needs "
                    f"{', '.join(REQUIRED_COLUMNS)} (optional: visit_day, study_date, series_uid)"
                )
            return [{(k or "").strip(): (v or "").strip() for k, v in rec.items()} for rec in reader]
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest not found: {csv_path}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{csv_path} is not a readable CSV file: {exc}") from exc


def import_manifest(
    db: Database,
    actor: Actor,
    csv_path: str | Path,
    *,
    trial_name: str = DEFAULT_TRIAL_NAME,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Manager: import scans from ``subject,visit,visit_day,series_folder,study_date`` rows.

    Each series folder (relative to the manifest's folder) must exist and hold one readable DICOM
    series. Duplicate subject/visit pairs or series UIDs are rejected; a row already imported with
    the same series and content hash is ``unchanged`` (re-import is idempotent). Each new series is
    copied, de-identified, into the image store (:mod:`db.workflow.image_store`); readers only ever
    open that copy. Every bad row is reported; nothing is written (and nothing stays in the store)
    unless all rows are good. Creates the trial (default charter) if the database has none yet.
    Rows are checked in ``workers`` processes (default: see :mod:`db.workflow.intake_batch`).

    Raises:
        WorkflowError: not a manager, locked, or no image store (a server database without one).
    """
    csv_path = Path(csv_path)
    root = db.read(lambda s: (require_role(s, actor, ("manager",), _MANAGER_RULE.format(what="import scans")),
                              refuse_if_locked(s, "importing scans"), store_root(s))[2])
    records = _read_manifest(csv_path)
    scans = db.read(lambda s: s.execute(select(Scan.series_uid, Scan.content_hash, Scan.display_json)).all())
    known = {(uid, content) for uid, content, _ in scans}
    known_pixels = {json.loads(d).get("pixel_sha256"): uid for uid, _, d in scans}
    uid_key = trial_uid_key(db)
    checked = check_and_store_rows(records, csv_path.resolve().parent, root, uid_key, known, progress,
                                   workers=workers)
    new_copies = [row.store_hash for row in checked if isinstance(row, IntakeRow) and row.store_created]
    errors: list[ImportRowError] = []
    rows: list[IntakeRow] = []
    seen_visit: dict[tuple[str, str], int] = {}
    seen_uid: dict[str, int] = {}
    seen_pixels: dict[object, int] = {}
    for i, row in enumerate(checked, start=1):
        if isinstance(row, str):
            errors.append(ImportRowError(i, row))
            continue
        key = (row.subject, row.visit)
        if key in seen_visit:
            errors.append(ImportRowError(i, f"duplicate of row {seen_visit[key]}: subject {row.subject} visit {row.visit}"))
            continue
        if row.series_uid in seen_uid:
            errors.append(ImportRowError(i, f"same series as row {seen_uid[row.series_uid]} (series UID {row.series_uid})"))
            continue
        pixels = row.display.get("pixel_sha256")
        if pixels in seen_pixels:
            errors.append(ImportRowError(i, f"its images are the same voxels as row {seen_pixels[pixels]}'s under "
                                            "another series UID: one delivery sent for two visits?"))
            continue
        if known_pixels.get(pixels, row.series_uid) != row.series_uid:
            errors.append(ImportRowError(i, "its images are the same voxels as a scan imported before for another "
                                            "visit (under another series UID): one delivery sent for two visits?"))
            continue
        seen_visit[key], seen_uid[row.series_uid], seen_pixels[pixels] = i, i, i
        rows.append(row)

    def work(s: Session) -> ImportReport:
        manager = require_role(s, actor, ("manager",), _MANAGER_RULE.format(what="import scans"))
        refuse_if_locked(s, "importing scans")
        trial = s.scalars(select(Trial).order_by(Trial.id).limit(1)).first()
        if trial is None:
            trial = _insert_trial(s, manager.id, manager.username, trial_name, Charter(), signing_key(actor))
        charter = charter_of(trial)
        row_errors = list(errors)
        subjects = {sub.code: sub for sub in s.scalars(select(Subject).where(Subject.trial_id == trial.id))}
        created = unchanged = 0
        for row in rows:
            if charter.visits and row.visit not in charter.visits:
                row_errors.append(ImportRowError(row.row, f"visit {row.visit!r} is not in the charter's schedule {list(charter.visits)}"))
                continue
            existing = s.scalars(select(Scan).where(Scan.series_uid == row.series_uid)).first()
            subject = subjects.get(row.subject)
            visit = None
            if subject is not None:
                visit = s.scalars(select(Visit).where(Visit.subject_id == subject.id, Visit.name == row.visit)).first()
            visit_scan = s.scalars(select(Scan).where(Scan.visit_id == visit.id)).first() if visit else None
            if visit_scan is not None:
                if visit_scan.series_uid == row.series_uid and visit_scan.content_hash == row.content_hash:
                    unchanged += 1
                elif visit_scan.series_uid == row.series_uid:
                    row_errors.append(ImportRowError(row.row, "this series was imported before with different file contents"))
                else:
                    row_errors.append(ImportRowError(row.row, f"subject {row.subject} visit {row.visit} was imported before with another series"))
                continue
            if existing is not None:
                row_errors.append(ImportRowError(row.row, f"series {row.series_uid} was imported before for another visit"))
                continue
            if subject is None:
                subject = Subject(trial_id=trial.id, code=row.subject)
                s.add(subject)
                s.flush()
                subjects[row.subject] = subject
                append_event(s, user_id=manager.id, username=manager.username, action="create", entity="subject",
                             entity_id=subject.id, new={"code": row.subject}, signer=signing_key(actor))
            if visit is None:
                visit = Visit(subject_id=subject.id, name=row.visit, visit_day=row.visit_day, study_date=row.study_date)
                s.add(visit)
                s.flush()
                append_event(s, user_id=manager.id, username=manager.username, action="create", entity="visit",
                             entity_id=visit.id, new={"subject_id": subject.id, "name": row.visit, "visit_day": row.visit_day},
                             signer=signing_key(actor))
            scan = Scan(
                visit_id=visit.id, series_uid=row.series_uid, folder=str(row.folder), content_hash=row.content_hash,
                image_key=secrets.token_hex(12), files_json=json.dumps(list(row.files)),
                display_json=json.dumps(row.display, sort_keys=True), created_at=utc_now(),
                store_hash=row.store_hash, store_files=row.store_files, store_series_uid=row.store_series_uid,
            )
            s.add(scan)
            s.flush()
            append_event(s, user_id=manager.id, username=manager.username, action="create", entity="scan",
                         entity_id=scan.id, new={"visit_id": visit.id, "series_uid": row.series_uid,
                                                  "folder": str(row.folder), "content_hash": row.content_hash,
                                                  "store_hash": row.store_hash,
                                                  "selection": row.display.get("selection")},
                         reason=f"manifest {csv_path.name} row {row.row}", signer=signing_key(actor),
                         state=scan_state(s, scan))
            created += 1
        if row_errors:
            raise _Abort(sorted(row_errors, key=lambda e: e.row))
        return ImportReport(n_rows=len(records), created=created, unchanged=unchanged)

    try:
        with discarded_on_failure(root, new_copies):
            return db.write(work)
    except _Abort as abort:
        return ImportReport(n_rows=len(records), created=0, unchanged=0, errors=tuple(abort.errors))
