"""Export a reader's open tasks as an offline reading package (manager).

The package holds de-identified copies of the reader's assigned scans (:mod:`quant.dicom.deidentify`),
a reader database and a manifest (:mod:`db.packages.manifest`). The reader database is a normal
LungRead SQLite database (same schema, made by :func:`db.connect`) holding only:

- the reader's account with its wrapped signing key and public key, but no password verifier (the
  reader proves the password offline by unwrapping the key, :mod:`db.security.keys`), and its
  registration signed by the exporting manager; no other account;
- the trial row with the charter (the visit schedule emptied: visit names are not for readers);
- the reader's unsigned tasks, under their master case codes, order and reader slot;
- one Scan per task pointing at the de-identified series (new series UID, content hash of the new
  files, relative folder ``images/<random key>``, de-identified display metadata).

The schema requires each Scan to have a Visit and each Visit a Subject (non-null foreign keys), so
the package has **opaque placeholders**: one Subject ``PACKAGE`` and one Visit per scan, named by
the task's random case code. No subject code, visit name or date, site, arm, other reader's task
or read, and no DICOM PHI is written. Tasks already signed in the master are not exported. A task
the reader has a master draft of goes out with that draft (metrics, comment, masks) as the
package's first revision, so work started online continues offline; drafts never come back, only
signed reads do (:mod:`db.packages.merge`). Images are written by :mod:`db.packages.images`.
The export is audited in the master trail; the package gets its own audit chain, whose first
event (``create package``) is anchored in the authenticated manifest. The manifest also holds the
scrypt hash of the package's unlock code (:mod:`db.packages.unlock`), for a reader locked out
offline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, connect
from db.errors import WorkflowError
from db.models import MaskBlob, Read, ReadTask, Scan, Subject, Trial, User, Visit
from db.models.packages import ReadingPackage
from db.packages.errors import PackageError
from db.packages.images import SeriesJob, write_package_images
from db.packages.manifest import DATABASE_NAME, FORMAT, PROTOCOL_NAME, file_sha256, write_manifest
from db.packages.unlock import UNLOCK_HASH_KEY, unlock_code
from db.records import Actor, Signer
from db.security.access import charter_of, current_trial, refuse_if_locked, require_role, signing_key
from db.security.audit import append_event, trust_root_of, utc_now
from db.security.passwords import hash_password
from db.security.signed_state import user_state
from db.workflow.imagelinks import scan_images
from db.workflow.read_store import latest_read

__all__ = ["export_package", "ExportReport", "PLACEHOLDER_SUBJECT", "PROTOCOL_NAME"]

PLACEHOLDER_SUBJECT = "PACKAGE"
_RULE = "only a manager may export a reading package, before the database is locked"


@dataclass(frozen=True)
class ExportReport:
    """Outcome of :func:`export_package`: ``path`` is the package folder or zip file."""

    package_id: str
    path: Path
    reader: str
    n_tasks: int
    n_files: int
    skipped_signed: int
    unlock_code: str = ""  # for the reader's locked account, see db.packages.unlock
    carried_drafts: int = 0  # tasks that went out with the reader's master draft


@dataclass(frozen=True)
class _Task:
    case_code: str
    reader_slot: int
    order_index: int
    sources: tuple[Path, ...]  # the scan's image files (its image-store copy)
    image_hash: str  # their content hash, checked before they are packaged
    display_json: str
    draft: dict[str, Any] | None = None  # the reader's latest master draft: Read columns
    masks: tuple[dict[str, Any], ...] = ()  # its MaskBlob rows


_DRAFT_COLUMNS = ("metrics_json", "lesion_pct", "solid_pct", "normal_ct", "confidence", "comment",
                  "not_evaluable_reason", "algorithm_version", "protocol_hash", "lung_mask_sha", "lesion_mask_sha",
                  "saved_at", "revision")
_BLOB_COLUMNS = ("sha256", "codec", "shape", "dtype", "n_runs", "data")


def _master_draft(s: Session, task: ReadTask) -> tuple[dict[str, Any] | None, tuple[dict[str, Any], ...]]:
    """The task's latest revision when it is a draft (columns), and the mask blobs it refers to."""
    row = latest_read(s, task.id)
    if row is None or row.status != "draft":
        return None, ()
    shas = [sha for sha in (row.lung_mask_sha, row.lesion_mask_sha) if sha]
    blobs = tuple({c: getattr(b, c) for c in _BLOB_COLUMNS}
                  for b in s.scalars(select(MaskBlob).where(MaskBlob.sha256.in_(shas))))
    return {c: getattr(row, c) for c in _DRAFT_COLUMNS}, blobs


@dataclass(frozen=True)
class _Plan:
    reader_id: int
    username: str
    role: str
    signing_key: str
    public_key: str
    trial_name: str
    charter_json: str
    tasks: tuple[_Task, ...]
    skipped_signed: int


def _plan(db: Database, actor: Actor, reader: str) -> _Plan:
    def work(s: Session) -> _Plan:
        require_role(s, actor, ("manager",), _RULE)
        refuse_if_locked(s, "exporting a reading package")
        trial = current_trial(s)
        user = s.scalars(select(User).where(User.username == reader)).first()
        if user is None or not user.active:
            raise WorkflowError(f"no active account {reader!r}")
        if user.role not in ("reader", "adjudicator"):
            raise WorkflowError(f"{reader!r} is a {user.role}; packages are for readers")
        rows = s.execute(select(ReadTask, Scan).join(Scan, Scan.id == ReadTask.scan_id)
                         .where(ReadTask.reader_id == user.id).order_by(ReadTask.order_index)).all()
        tasks = tuple(
            _Task(t.case_code, t.reader_slot, t.order_index, *scan_images(s, sc),
                  sc.display_json, *_master_draft(s, t))
            for t, sc in rows if t.status != "signed"
        )
        if not tasks:
            raise WorkflowError(f"{reader} has no unsigned task to export")
        charter = replace(charter_of(trial), visits=())
        if not user.signing_key or not user.public_key:
            raise WorkflowError(f"{reader!r} has no signing key yet: they sign in once on the master database first")
        return _Plan(user.id, user.username, user.role, user.signing_key, user.public_key, trial.name,
                     charter.to_json(), tasks, len(rows) - len(tasks))

    return db.read(work)


def _series_jobs(plan: _Plan) -> list[SeriesJob]:
    return [SeriesJob(t.case_code, t.sources, t.image_hash) for t in plan.tasks]


def _write_database(plan: _Plan, stage: Path, package_id: str, tasks: list[dict[str, Any]], manager: Actor) -> str:
    """Create the reader database; returns the hash of its first audit event (the anchor)."""
    by_code = {t.case_code: t for t in plan.tasks}
    pkg = connect(stage / DATABASE_NAME)
    try:
        def work(s: Session) -> str:
            now = utc_now()
            user = User(username=plan.username, role=plan.role, password_hash="", signing_key=plan.signing_key,
                        public_key=plan.public_key, active=True, created_at=now)
            trial = Trial(name=plan.trial_name, charter_json=plan.charter_json, worklist_seed=None, created_at=now)
            s.add_all([user, trial])
            s.flush()
            key = signing_key(manager)
            anchor = append_event(s, user_id=None, username=manager.username, action="create", entity="package",
                                  entity_id=package_id, new={"format": FORMAT, "reader": plan.username,
                                                             "n_tasks": len(tasks)}, signer=key)
            append_event(s, user_id=None, username=manager.username, action="create", entity="user",
                         entity_id=user.id, new=user_state(user), reason="reading package", signer=key,
                         state=user_state(user))
            subject = Subject(trial_id=trial.id, code=PLACEHOLDER_SUBJECT)
            s.add(subject)
            s.flush()
            for entry in tasks:
                src = by_code[entry["case_code"]]
                visit = Visit(subject_id=subject.id, name=src.case_code, visit_day=None, study_date=None)
                s.add(visit)
                s.flush()
                scan = Scan(visit_id=visit.id, series_uid=entry["series_uid"], folder=entry["folder"],
                            content_hash=entry["content_hash"], image_key=secrets.token_hex(12),
                            files_json=json.dumps(entry["files"]), display_json=src.display_json, created_at=now)
                s.add(scan)
                s.flush()
                task = ReadTask(scan_id=scan.id, reader_id=user.id, reader_slot=src.reader_slot,
                                case_code=src.case_code, order_index=src.order_index,
                                status="draft" if src.draft else "new", created_at=now)
                s.add(task)
                s.flush()
                if src.draft:
                    _carry_draft(s, src, task, user, key)
            s.flush()
            return anchor.hash

        return pkg.write(work)
    finally:
        pkg.dispose()


def _carry_draft(s: Session, src: _Task, task: ReadTask, user: User, key: Signer) -> None:
    assert src.draft is not None
    for blob in src.masks:
        if s.get(MaskBlob, blob["sha256"]) is None:
            s.add(MaskBlob(**blob))
    fields = {k: v for k, v in src.draft.items() if k != "revision"}
    read = Read(task_id=task.id, scan_id=task.scan_id, author_id=user.id, revision=1, status="draft", **fields)
    s.add(read)
    s.flush()
    append_event(s, user_id=None, username=None, action="carry_draft", entity="read", entity_id=read.id,
                 new={"case_code": src.case_code, "master_revision": src.draft["revision"],
                      "lesion_pct": read.lesion_pct, "solid_pct": read.solid_pct}, signer=key)


def _zip(folder: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(folder).as_posix())
        tmp.replace(target)
    except BaseException:  # a full disk: no half-written zip is left under any name
        tmp.unlink(missing_ok=True)
        raise


def export_package(
    db: Database,
    actor: Actor,
    reader: str,
    out: str | Path,
    *,
    zip_package: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Manager: write the reading package of ``reader``'s unsigned tasks to ``out``.

    ``out``: a new (or empty) folder; with ``zip_package`` a zip file (``.zip`` is appended when
    missing). ``progress(done_files, total_files)`` follows the de-identification.
    """
    out = Path(out).expanduser().resolve()
    target = out if not zip_package or out.suffix == ".zip" else out.with_name(out.name + ".zip")
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise PackageError(f"{target} already exists; choose a new package name")
    plan = _plan(db, actor, reader)
    package_id = secrets.token_hex(16)
    key = secrets.token_bytes(32)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".lungread-package-", dir=target.parent))
    try:
        # The UID key is derived from (not equal to) the MAC key, so UIDs reveal nothing about it.
        tasks, files = write_package_images(_series_jobs(plan), stage,
                                            hmac.new(key, b"dicom-uids", hashlib.sha256).digest(), progress)
        from quant.protocol import default_protocol

        (stage / PROTOCOL_NAME).write_text(
            importlib_resources.files("resources").joinpath("protocol.toml").read_text("utf-8"), encoding="utf-8")
        files[PROTOCOL_NAME] = file_sha256(stage / PROTOCOL_NAME)
        anchor = _write_database(plan, stage, package_id, tasks, actor)
        body = {
            "format": FORMAT, "package_id": package_id, "created_at": utc_now(), "reader": plan.username,
            "trial": plan.trial_name, "protocol_hash": default_protocol().hash, "tasks": tasks, "files": files,
            "database": {"name": DATABASE_NAME, "sha256_at_export": file_sha256(stage / DATABASE_NAME),
                         "anchor_event_hash": anchor},
            UNLOCK_HASH_KEY: hash_password(unlock_code(key, package_id)),
            "exported_by": actor.username, "trust_root": db.read(trust_root_of),
        }
        manifest_sha = write_manifest(stage, body, key, signing_key(actor))
        codes = [t["case_code"] for t in tasks]

        def record(s: Session) -> None:
            manager = require_role(s, actor, ("manager",), _RULE)
            refuse_if_locked(s, "exporting a reading package")
            s.add(ReadingPackage(package_id=package_id, reader_id=plan.reader_id, hmac_key=key.hex(),
                                 created_by=manager.id, created_at=body["created_at"],
                                 case_codes_json=json.dumps(codes), manifest_sha256=manifest_sha,
                                 merged_event_id=0, imports=0))
            append_event(s, user_id=manager.id, username=manager.username, action="export", entity="package",
                         entity_id=package_id, new={"reader": plan.username, "n_tasks": len(codes),
                                                    "case_codes": codes, "manifest_sha256": manifest_sha,
                                                    "skipped_signed": plan.skipped_signed},
                         signer=signing_key(actor))

        if zip_package:
            _zip(stage, target)
        else:
            if target.exists():
                target.rmdir()
            stage.rename(target)
        try:
            db.write(record)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return ExportReport(package_id, target, plan.username, len(codes), len(files), plan.skipped_signed,
                        unlock_code(key, package_id), sum(t.draft is not None for t in plan.tasks))
