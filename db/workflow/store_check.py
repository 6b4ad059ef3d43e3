"""Checking the whole image store against the database: every scan's copy present and unchanged.

Each case's copy is re-checked when a reader opens it (:func:`db.workflow.imagelinks.check_case_images`);
this check lets the manager find a missing or changed copy first, for every scan at once (it
reads every stored file, so it takes about as long as copying the store).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import WorkflowError
from db.models import Scan, Subject, Visit
from db.records import Actor
from db.security.access import require_role
from db.workflow.imagelinks import check_case_images, scan_images

__all__ = ["StoreProblem", "verify_image_store"]


@dataclass(frozen=True)
class StoreProblem:
    """A scan whose images are not as imported: subject, visit and why."""

    subject: str
    visit: str
    problem: str

    def describe(self) -> str:
        return f"{self.subject} {self.visit}: {self.problem}"


def verify_image_store(db: Database, actor: Actor,
                       progress: Callable[[int, int], None] | None = None) -> tuple[int, list[StoreProblem]]:
    """Manager: (scans checked, problems) over every scan: its image files (store copy, or site
    files for a scan imported before the store) exist and hash to what was recorded."""

    def plan(s: Session) -> list[tuple[str, str, tuple[Path, ...], str]]:
        require_role(s, actor, ("manager",), "only a manager may check the image store")
        rows = s.execute(select(Subject.code, Visit.name, Scan).join(Visit, Visit.subject_id == Subject.id)
                         .join(Scan, Scan.visit_id == Visit.id).order_by(Subject.code, Visit.id)).all()
        return [(code, visit, *scan_images(s, scan)) for code, visit, scan in rows]

    scans = db.read(plan)
    problems = []
    for done, (subject, visit, files, expected) in enumerate(scans):
        if progress is not None:
            progress(done, len(scans))
        missing = [f for f in files if not f.is_file()]
        if missing:
            problems.append(StoreProblem(subject, visit, f"{len(missing)} of {len(files)} image file(s) are missing "
                                                         f"(first: {missing[0]})"))
            continue
        try:
            check_case_images(files, expected, f"{subject} {visit}")
        except WorkflowError:
            problems.append(StoreProblem(subject, visit, "its image files changed since import (content hash differs)"))
    if progress is not None:
        progress(len(scans), len(scans))
    return len(scans), problems
