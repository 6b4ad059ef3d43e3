"""The manager overrides which series of a study delivery a visit is read from, after import.

The reading rule (:mod:`db.workflow.intake`) picks one series per study and keeps why; a manager who
knows better (the site says the thin series is the wrong phase, the rule tied) chooses another
series of the same delivery with a reason. The new series goes through every intake check and
into the image store, and the change is a signed ``select_series`` event holding the old and new
series. Only before anyone has saved work on the scan: masks drawn on one series do not belong to
another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import WorkflowError
from db.models import Read, Scan, Subject, Visit
from db.records import Actor
from db.security.access import refuse_if_locked, require_role, signing_key
from db.security.audit import append_event
from db.security.signed_state import scan_state
from db.security.text_rules import MAX_REASON, check_text
from db.workflow.image_store import discarded_on_failure, store_root, store_series, trial_uid_key
from db.workflow.series_check import check_intake_row
from quant.errors import LungReadError

__all__ = ["SeriesCandidate", "series_candidates", "select_series"]

_RULE = "only a manager may choose a visit's series, before the database is locked"


@dataclass(frozen=True)
class SeriesCandidate:
    """One series of a visit's delivery: its UID, a description line, and whether it is the one read."""

    series_uid: str
    label: str
    selected: bool


def _scan_of(s: Session, subject: str, visit: str) -> Scan:
    scan = s.scalars(select(Scan).join(Visit, Scan.visit_id == Visit.id).join(Subject, Visit.subject_id == Subject.id)
                     .where(Subject.code == subject, Visit.name == visit)).first()
    if scan is None:
        raise WorkflowError(f"no scan was imported for subject {subject!r} visit {visit!r}")
    return scan


def series_candidates(db: Database, actor: Actor, subject: str, visit: str) -> list[SeriesCandidate]:
    """Manager: every series in the delivery folder a visit was imported from."""
    from quant.dicom.load import scan_folder

    def work(s: Session) -> tuple[str, str]:
        require_role(s, actor, ("manager",), _RULE)
        scan = _scan_of(s, subject, visit)
        return scan.folder, scan.series_uid

    folder, current = db.read(work)
    if not Path(folder).is_dir():
        raise WorkflowError(f"the delivery folder of subject {subject} visit {visit} is gone: {folder!r}")
    out = []
    for series in scan_folder(Path(folder)).series:
        spacing = f"{series.slice_spacing:.2f} mm" if series.slice_spacing else "? mm"
        label = (f"{series.description or '(no description)'} [{series.modality or '?'} {series.orientation}, "
                 f"{series.n_slices} slices x {spacing}]")
        out.append(SeriesCandidate(series.series_uid, label, series.series_uid == current))
    return out


def _label(display: dict) -> str:  # type: ignore[type-arg]
    spacing = f"{display['slice_mm']:.2f} mm" if display.get("slice_mm") else "? mm"
    return (f"{display.get('description') or '(no description)'} [{display.get('n_slices')} slices x {spacing}, "
            f"kernel {display.get('kernel') or '?'}]")


def select_series(db: Database, actor: Actor, subject: str, visit: str, series_uid: str, reason: str) -> None:
    """Manager: read ``subject``/``visit`` from another series of its delivery (see module doc).

    Raises:
        PermissionDenied: not a manager.
        WorkflowError: no reason, locked, no such scan, work already saved on it, the series is
            the current one or another visit's, or it fails an intake check (the message says which).
    """
    reason = check_text(reason, "the reason", MAX_REASON)
    if not reason:
        raise WorkflowError("choosing another series needs a reason (it goes into the audit trail)")

    def plan(s: Session) -> tuple[Path, str, int]:
        require_role(s, actor, ("manager",), _RULE)
        refuse_if_locked(s, "choosing a visit's series")
        scan = _scan_of(s, subject, visit)
        if scan.series_uid == series_uid:
            raise WorkflowError(f"series {series_uid} is already the one subject {subject} visit {visit} is read from")
        return store_root(s), scan.folder, scan.id

    root, folder, scan_id = db.read(plan)
    try:
        row = check_intake_row(0, {"subject": subject, "visit": visit, "series_folder": folder,
                                   "series_uid": series_uid}, Path(folder))
    except LungReadError as exc:
        raise WorkflowError(f"series {series_uid} cannot be read for subject {subject} visit {visit}: {exc}") from exc
    copy = store_series(root, row.sources, trial_uid_key(db))

    def work(s: Session) -> None:
        manager = require_role(s, actor, ("manager",), _RULE)
        refuse_if_locked(s, "choosing a visit's series")
        scan = s.get(Scan, scan_id)
        assert scan is not None
        if s.scalar(select(func.count(Read.id)).where(Read.scan_id == scan.id)):
            raise WorkflowError(f"subject {subject} visit {visit} already has saved reads or drafts: its series can "
                                "no longer change (masks belong to the series they were drawn on)")
        if s.scalar(select(Scan.id).where(Scan.series_uid == row.series_uid, Scan.id != scan.id)) is not None:
            raise WorkflowError(f"series {row.series_uid} is already imported for another visit")
        old_display = json.loads(scan.display_json)
        old = {"series_uid": scan.series_uid, "content_hash": scan.content_hash, "store_hash": scan.store_hash}
        display = dict(row.display)
        display["selection"] = f"chosen by the manager after import: {reason}"
        display["not_chosen"] = [f"{_label(old_display)}: the earlier selection ({old_display.get('selection')})"]
        scan.series_uid, scan.content_hash = row.series_uid, row.content_hash
        scan.files_json, scan.display_json = json.dumps(list(row.files)), json.dumps(display, sort_keys=True)
        scan.store_hash, scan.store_files, scan.store_series_uid = copy.store_hash, copy.n_files, copy.series_uid
        s.flush()
        append_event(s, user_id=manager.id, username=manager.username, action="select_series", entity="scan",
                     entity_id=scan.id, old=old, new={"series_uid": row.series_uid, "content_hash": row.content_hash,
                                                      "store_hash": copy.store_hash},
                     reason=reason, signer=signing_key(actor), state=scan_state(s, scan))

    with discarded_on_failure(root, [copy.store_hash] if copy.created else []):
        db.write(work)
