"""Copying the scans imported before the image store (schema revision 0006) into it.

Such scans are still read from the site's own files (through blinded links). ``lungread trial
store-images`` copies each one, de-identified, into the store, after checking that the site files
still hash to what was recorded at intake; each copy is a signed ``store`` event on its scan.
Masks already saved stay valid: de-identification keeps every voxel and the geometry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import Scan
from db.records import Actor
from db.security.access import refuse_if_locked, require_role, signing_key
from db.security.audit import append_event
from db.security.signed_state import scan_state
from db.workflow.image_store import discarded_on_failure, store_root, store_series, trial_uid_key
from db.workflow.imagelinks import scan_images
from quant.dicom.load import series_content_hash
from quant.errors import LungReadError

__all__ = ["BackfillReport", "store_site_images", "scans_outside_store"]

_RULE = "only a manager may copy scans into the image store, before the database is locked"


@dataclass(frozen=True)
class BackfillReport:
    """``stored``: scans copied now; ``problems``: (scan id, why) for scans left on site files."""

    stored: int
    problems: tuple[tuple[int, str], ...]


def scans_outside_store(db: Database) -> int:
    """How many scans are still read from site files (imported before the image store)."""
    return int(db.read(lambda s: s.scalar(select(func.count(Scan.id)).where(Scan.store_hash.is_(None)))) or 0)


def store_site_images(db: Database, actor: Actor,
                      progress: Callable[[int, int], None] | None = None) -> BackfillReport:
    """Manager: copy every scan still read from site files into the image store (see module doc).

    Raises:
        PermissionDenied: not a manager. WorkflowError: locked, or no image store.
    """

    def plan(s: Session) -> tuple[Path, list[tuple[int, tuple[Path, ...], str]]]:
        require_role(s, actor, ("manager",), _RULE)
        refuse_if_locked(s, "copying scans into the image store")
        pending = s.scalars(select(Scan).where(Scan.store_hash.is_(None)).order_by(Scan.id)).all()
        return store_root(s), [(sc.id, *scan_images(s, sc)) for sc in pending]

    root, pending = db.read(plan)
    uid_key = trial_uid_key(db) if pending else b""
    stored, problems = 0, []
    for done, (scan_id, files, site_hash) in enumerate(pending):
        if progress is not None:
            progress(done, len(pending))
        try:
            if series_content_hash(list(files)) != site_hash:
                problems.append((scan_id, "its site files changed since intake; not copied (re-deliver and re-import)"))
                continue
            copy = store_series(root, files, uid_key)
        except LungReadError as exc:
            problems.append((scan_id, str(exc)))
            continue

        def record(s: Session) -> None:
            manager = require_role(s, actor, ("manager",), _RULE)
            scan = s.get(Scan, scan_id)
            assert scan is not None
            scan.store_hash, scan.store_files, scan.store_series_uid = copy.store_hash, copy.n_files, copy.series_uid
            s.flush()
            append_event(s, user_id=manager.id, username=manager.username, action="store", entity="scan",
                         entity_id=scan.id, new={"store_hash": copy.store_hash, "store_files": copy.n_files},
                         signer=signing_key(actor), state=scan_state(s, scan))

        with discarded_on_failure(root, [copy.store_hash] if copy.created else []):
            db.write(record)
        stored += 1
    if progress is not None:
        progress(len(pending), len(pending))
    return BackfillReport(stored, tuple(problems))
