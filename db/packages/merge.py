"""Import a returned reading package into the master database (manager).

Verify first (:mod:`db.packages.verify`), then merge in **one** write transaction:

1. refuse the whole package (:class:`~db.packages.errors.PackageRefused`, nothing written) when any
   integrity problem was found, or when any signed read conflicts with the master: its task no
   longer exists, was reassigned to another reader, or was already signed in the master (read
   elsewhere), or another read of the same case was imported from this package before;
2. the package's audit events not yet merged are appended to the master chain as
   ``package_event`` events (the original event, with its hash and previous hash, in ``new``), so
   the offline history is kept with provenance and the master chain stays one verifiable chain;
3. each new signed read becomes a new signed revision of its master task (masks copied, signer,
   UTC time and meaning kept), with an ``import_sign`` event naming the package, the package's
   sign-event hash and the read's content hash; provenance rows go to ``package_read_imports``;
4. the adjudication trigger runs for each merged read's scan, exactly as after an online signature
   (:func:`db.workflow.adjudication.on_read_signed`);
5. an ``import`` event summarises the merge.

Drafts are not merged. Idempotent: reads already merged from this package with the same content
are ``unchanged``; an import that would merge nothing new writes **nothing** (not even an audit
event), so re-importing the same package leaves row counts and the audit head hash as they were.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import AdjudicationTask, Read, ReadTask, User
from db.models.packages import PackageReadImport, ReadingPackage
from db.packages.archive import extract_package_zip
from db.packages.errors import PackageError, PackageRefused
from db.packages.manifest import read_manifest
from db.packages.unlock import unlock_code
from db.packages.verify import MasterKeys, PackageContents, SignedRead, inspect_package
from db.records import Actor
from db.security.access import refuse_if_locked, require_role, signing_key
from db.security.audit import append_event, utc_now
from db.security.signed_state import read_state
from db.workflow.adjudication import on_read_signed
from db.workflow.read_store import next_revision, store_mask

__all__ = ["import_package", "PackageImportReport", "unpacked"]

_RULE = "only a manager may import a reading package, before the database is locked"


@dataclass(frozen=True)
class PackageImportReport:
    """Outcome of :func:`import_package` (``changed`` False: nothing was written)."""

    package_id: str
    reader: str
    merged: tuple[str, ...]
    unchanged: tuple[str, ...]
    unsigned: tuple[str, ...]
    events_merged: int
    adjudications_created: int
    changed: bool

    def describe(self) -> str:
        if not self.changed:
            return (f"package {self.package_id} ({self.reader}): nothing new; {len(self.unchanged)} read(s) "
                    "already imported, database unchanged")
        return (f"package {self.package_id} ({self.reader}): merged {len(self.merged)} signed read(s), "
                f"{len(self.unchanged)} already imported, {len(self.unsigned)} case(s) not signed (drafts are not "
                f"merged), {self.events_merged} audit event(s), {self.adjudications_created} adjudication(s) opened")


@contextmanager
def unpacked(package: str | Path) -> Iterator[Path]:
    """The package folder; a zip is extracted into a temporary folder (removed afterwards)."""
    path = Path(package).expanduser()
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise PackageError(f"{path}: no such package (a folder or a .zip made by `lungread package export`)")
    if not zipfile.is_zipfile(path):
        raise PackageError(f"{path} is neither a package folder nor a zip file")
    tmp = Path(tempfile.mkdtemp(prefix="lungread-package-"))
    try:
        extract_package_zip(path, tmp)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _conflicts(s: Session, pkg: ReadingPackage, reads: tuple[SignedRead, ...]
               ) -> tuple[dict[str, str], list[tuple[ReadTask, SignedRead]], list[str]]:
    exported = set(json.loads(pkg.case_codes_json))
    prior = {row.case_code: row for row in s.scalars(
        select(PackageReadImport).where(PackageReadImport.package_id == pkg.package_id))}
    conflicts: dict[str, str] = {}
    merge: list[tuple[ReadTask, SignedRead]] = []
    unchanged: list[str] = []
    for read in reads:
        code = read.case_code
        task = s.scalars(select(ReadTask).where(ReadTask.case_code == code)).first()
        done = prior.get(code)
        if code not in exported:
            conflicts[code] = "this case was not exported in this package"
        elif task is None:
            conflicts[code] = "the task no longer exists in the master database"
        elif task.reader_id != pkg.reader_id:
            conflicts[code] = "the task was reassigned to another reader after the export"
        elif done is not None and done.content_sha256 == read.content_sha256:
            unchanged.append(code)
        elif done is not None:
            conflicts[code] = "another read of this case was already imported from this package"
        elif task.status == "signed":
            conflicts[code] = "the task was already signed in the master database (read elsewhere)"
        else:
            merge.append((task, read))
    return conflicts, merge, unchanged


def _package_keys(s: Session, package_id: str) -> tuple[str | None, MasterKeys | None]:
    """The package's MAC key and the master's registered keys of its reader and exporting manager."""
    pkg = s.get(ReadingPackage, package_id) if package_id else None
    if pkg is None:
        return None, None
    reader, manager = s.get(User, pkg.reader_id), s.get(User, pkg.created_by)
    if reader is None or manager is None or not reader.public_key or not manager.public_key:
        return pkg.hmac_key, None
    code = unlock_code(bytes.fromhex(pkg.hmac_key), package_id)
    return pkg.hmac_key, MasterKeys(reader.public_key, manager.public_key, code)


def _merge_read(s: Session, task: ReadTask, read: SignedRead, reader: User) -> Read:
    for mask in read.masks:
        store_mask(s, mask)
    revision = next_revision(s, task.id)
    row = Read(task_id=task.id, scan_id=task.scan_id, author_id=reader.id, revision=revision, status="signed",
               signed_by=reader.id, **read.fields)
    s.add(row)
    s.flush()
    task.status = "signed"
    return row


def import_package(
    db: Database,
    actor: Actor,
    package: str | Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> PackageImportReport:
    """Manager: verify a reading package and merge its signed reads (all or nothing).

    Raises :class:`PackageRefused` listing every bad file or read and every per-task conflict;
    the master database is then unchanged. ``progress(message)`` reports the phases.
    """
    db.read(lambda s: (require_role(s, actor, ("manager",), _RULE), refuse_if_locked(s, "importing a package")))
    say = progress or (lambda _msg: None)
    with unpacked(package) as root:
        body, mac = read_manifest(root)
        package_id = str(body.get("package_id", ""))
        key_hex, keys = db.read(lambda s: _package_keys(s, package_id))
        if key_hex is None or keys is None:
            raise PackageError(f"{package}: package {package_id or '?'} was not exported from this database")
        say("verifying files, signatures and audit trail")
        contents: PackageContents = inspect_package(root, body, mac, bytes.fromhex(key_hex), keys)

    def work(s: Session) -> PackageImportReport:
        manager = require_role(s, actor, ("manager",), _RULE)
        refuse_if_locked(s, "importing a reading package")
        pkg = s.get(ReadingPackage, package_id)
        assert pkg is not None
        reader = s.get(User, pkg.reader_id)
        problems = list(contents.problems)
        if reader is None or reader.username != body.get("reader"):
            problems.append(f"the package's reader {body.get('reader')!r} is not the account it was exported for")
        conflicts, merge, unchanged = _conflicts(s, pkg, contents.reads)
        if problems or conflicts:
            raise PackageRefused(str(package), problems, conflicts)
        assert reader is not None
        new_events = [e for e in contents.events if e.id > pkg.merged_event_id]
        if not merge and not new_events:
            return PackageImportReport(package_id, reader.username, (), tuple(unchanged), contents.unsigned, 0, 0, False)
        say(f"merging {len(merge)} read(s) and {len(new_events)} audit event(s)")
        key = signing_key(actor)
        for ev in new_events:
            append_event(s, user_id=manager.id, username=manager.username, action="package_event", entity="package",
                         entity_id=package_id, new={"package_event": ev.data},
                         reason=f"offline audit event {ev.id} of reading package {package_id}", signer=key)
        n_adj_before = s.scalar(select(func.count(AdjudicationTask.id))) or 0
        for task, read in merge:
            row = _merge_read(s, task, read, reader)
            s.add(PackageReadImport(package_id=package_id, case_code=task.case_code, package_read_id=read.package_read_id,
                                    master_read_id=row.id, content_sha256=read.content_sha256,
                                    sign_event_hash=read.sign_event_hash, imported_at=utc_now()))
            append_event(s, user_id=manager.id, username=manager.username, action="import_sign", entity="read",
                         entity_id=row.id, old={"task_status": "new/draft"},
                         new={"task_id": task.id, "case_code": task.case_code, "package_id": package_id,
                              "package_read_id": read.package_read_id, "package_sign_event": read.sign_event_hash,
                              "content_sha256": read.content_sha256, "signer": reader.username,
                              "signed_at": row.signed_at, "meaning": row.sign_meaning, "revision": row.revision,
                              "lesion_pct": row.lesion_pct, "solid_pct": row.solid_pct, "normal_ct": row.normal_ct,
                              "lung_mask": row.lung_mask_sha, "lesion_mask": row.lesion_mask_sha},
                         reason=f"signed offline in reading package {package_id}", signer=key,
                         state=read_state(row))
            on_read_signed(s, task.scan_id)
        n_adj = (s.scalar(select(func.count(AdjudicationTask.id))) or 0) - n_adj_before
        if new_events:
            pkg.merged_event_id = max(e.id for e in new_events)
        pkg.imports += 1
        pkg.last_import_at = utc_now()
        merged = tuple(task.case_code for task, _ in merge)
        append_event(s, user_id=manager.id, username=manager.username, action="import", entity="package",
                     entity_id=package_id, new={"reader": reader.username, "merged": list(merged),
                                                "unchanged": unchanged, "events_merged": len(new_events),
                                                "adjudications_created": n_adj}, signer=key)
        return PackageImportReport(package_id, reader.username, merged, tuple(unchanged), contents.unsigned,
                                   len(new_events), n_adj, True)

    return db.write(work)
