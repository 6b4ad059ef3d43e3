"""Verification of a returned reading package before anything is merged (no master writes here).

:func:`inspect_package` checks, and collects every problem rather than stopping at the first:

- the manifest's HMAC (key from the master database) and every listed file's SHA-256, and that no
  unlisted file sits among the images;
- the reader database: its audit hash chain, the chain's first event against the manifest's anchor,
  a single account (the package's reader), the task list and each task's scan against the manifest;
- every signed read: signer = author = the package's reader; meaning and UTC timestamp present,
  after the export and not in the future; its ``sign`` audit event exists and records the same
  signer, time, meaning, task, revision, percentages, normal-CT call, confidence, not-evaluable
  reason and mask checksums (so editing a signed read in the database without rewriting the whole
  hash chain is detected); the metrics JSON agrees with the stored percentages; each mask blob
  decodes and matches its SHA-256 (:func:`db.workflow.masks.decode_mask`).

A per-read content hash (:func:`read_content_hash`) over every signed field is derived here and
recorded in the master on merge, so a re-import of the same read is recognised as unchanged. The
package's sign event carries the ``content_sha256`` recorded at sign time (:mod:`db.security.read_hash`),
and it must match, so an edit of any signed field (comment, any metric) is detected.
"""

from __future__ import annotations

import hmac
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import connect
from db.errors import MaskIntegrityError
from db.models import AuditEvent, MaskBlob, Read, ReadTask, Scan, User
from db.packages.manifest import DATABASE_NAME, manifest_mac, manifest_signature_ok, verify_files
from db.packages.unlock import unlock_mac
from db.security.audit import event_fields, verify_audit_trail
from db.security.keys import fingerprint, verify_signature
from db.security.read_hash import SIGNED_FIELDS, read_content_hash
from db.security.trust import package_event_message
from db.workflow.masks import EncodedMask, decode_mask
from db.workflow.read_store import latest_read

__all__ = ["SignedRead", "PackageEvent", "PackageContents", "MasterKeys", "inspect_package", "read_content_hash"]

_SUMMARY_FIELDS = (("revision", "revision"), ("lesion_pct", "lesion_pct"), ("solid_pct", "solid_pct"),
                   ("normal_ct", "normal_ct"), ("confidence", "confidence"), ("not_evaluable", "not_evaluable_reason"),
                   ("lung_mask", "lung_mask_sha"), ("lesion_mask", "lesion_mask_sha"))


@dataclass(frozen=True)
class SignedRead:
    """A verified signed read of the package, ready to merge (masks already checked)."""

    case_code: str
    package_read_id: int
    revision: int
    fields: dict[str, Any]  # Read columns to copy (metrics_json, lesion_pct, ..., signed_at, sign_meaning)
    masks: tuple[EncodedMask, ...]
    content_sha256: str
    sign_event_hash: str


@dataclass(frozen=True)
class PackageEvent:
    """One audit event of the package, as recorded there (for provenance in the master trail)."""

    data: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.data["id"])


@dataclass(frozen=True)
class PackageContents:
    problems: tuple[str, ...]
    reads: tuple[SignedRead, ...]
    events: tuple[PackageEvent, ...]
    unsigned: tuple[str, ...]  # case codes with no signed read (drafts are not merged)


_COPIED = SIGNED_FIELDS


def _parse_time(text: str | None) -> datetime | None:
    try:
        value = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _event_dict(ev: AuditEvent) -> dict[str, Any]:
    return {**event_fields(ev), "prev_hash": ev.prev_hash, "hash": ev.hash, "signature": ev.signature}


@dataclass(frozen=True)
class MasterKeys:
    """The public keys (hex) the master database registered for the package's reader and for the
    manager who exported it: the only keys a package's signatures may come from."""

    reader: str
    manager: str
    unlock_code: str = ""  # the package's unlock code, to check the MAC of an offline unlock


def _check_signatures(events: list[AuditEvent], keys: MasterKeys, package_id: str, problems: list[str]) -> None:
    allowed = {fingerprint(keys.reader): keys.reader, fingerprint(keys.manager): keys.manager}
    for ev in events:
        if ev.signature is None:
            if ev.action == "unlock":
                old, new = json.loads(ev.old_json) or {}, json.loads(ev.new_json) or {}
                expected = unlock_mac(keys.unlock_code, package_id, str(ev.username), int(old.get("failures", 0)))
                if not keys.unlock_code or not hmac.compare_digest(str(new.get("code_mac")), expected):
                    problems.append(f"{DATABASE_NAME}: audit event {ev.id} (unlock) was not made with the "
                                    "manager's unlock code")
            elif ev.action != "login_failed":
                problems.append(f"{DATABASE_NAME}: audit event {ev.id} ({ev.action}) is not signed")
            continue
        public = allowed.get(ev.signer_key or "")
        if public is None:
            problems.append(f"{DATABASE_NAME}: audit event {ev.id} ({ev.action}) is signed by a key the master "
                            "database never registered for this reader or this package's manager")
        elif not verify_signature(public, package_event_message(_event_dict(ev)), ev.signature):
            problems.append(f"{DATABASE_NAME}: audit event {ev.id} ({ev.action}): the signature does not verify "
                            "(the event was altered after signing)")


def _check_read(s: Session, code: str, task: ReadTask, user: User, row: Read, sign_events: dict[str, AuditEvent],
                exported_at: datetime | None, problems: list[str], reader_key: str) -> SignedRead | None:
    where = f"case {code} (read {row.id})"
    bad = len(problems)
    if row.status != "signed":
        problems.append(f"{where}: the task is marked signed but its latest revision is {row.status}")
        return None
    if row.signed_by != user.id or row.author_id != user.id:
        problems.append(f"{where}: signed or authored by another account than the package's reader")
    if not (row.sign_meaning or "").strip():
        problems.append(f"{where}: the signature has no meaning")
    signed_at = _parse_time(row.signed_at)
    if signed_at is None:
        problems.append(f"{where}: the signature time {row.signed_at!r} is not a UTC timestamp")
    elif (exported_at is not None and signed_at < exported_at) or signed_at > datetime.now(timezone.utc):
        problems.append(f"{where}: signed at {row.signed_at}, outside the package's lifetime")
    fields = {k: getattr(row, k) for k in _COPIED}
    try:
        metrics = json.loads(row.metrics_json)
    except ValueError:
        problems.append(f"{where}: metrics are not valid JSON")
        return None
    for key in ("lesion_pct", "solid_pct"):
        if metrics.get(key) != getattr(row, key):
            problems.append(f"{where}: metric {key} {metrics.get(key)!r} differs from the stored {getattr(row, key)!r}")
    if row.not_evaluable_reason is None and not all(
            isinstance(getattr(row, k), float) and 0.0 <= getattr(row, k) <= 100.0 for k in ("lesion_pct", "solid_pct")):
        problems.append(f"{where}: lesion_pct/solid_pct missing or outside 0-100 %")
    content = read_content_hash(code, user.username, row.revision, fields)
    ev = sign_events.get(str(row.id))
    if ev is None:
        problems.append(f"{where}: no signature event in the package audit trail")
    else:
        new = json.loads(ev.new_json)
        if ev.user_id != user.id or ev.username != user.username:
            problems.append(f"{where}: the signature event names another signer")
        if ev.signer_key != fingerprint(reader_key):
            problems.append(f"{where}: not signed with the reader's key registered in the master database")
        expected = {"task_id": task.id, "signed_at": row.signed_at, "meaning": row.sign_meaning,
                    **{k: getattr(row, col) for k, col in _SUMMARY_FIELDS}}
        diffs = sorted(k for k, v in expected.items() if new.get(k) != v)
        if "content_sha256" in new and new["content_sha256"] != content:
            diffs.append("content_sha256")
        if diffs:
            problems.append(f"{where}: the signed read differs from its signature record ({', '.join(diffs)})")
    masks: list[EncodedMask] = []
    shapes = set()
    for sha in (row.lung_mask_sha, row.lesion_mask_sha):
        if sha is None:
            continue
        blob = s.get(MaskBlob, sha)
        if blob is None:
            problems.append(f"{where}: mask {sha[:12]} is missing")
            continue
        shape = tuple(int(n) for n in blob.shape.split(",")) if blob.shape else ()
        enc = EncodedMask(shape, blob.dtype, blob.codec, blob.n_runs, blob.sha256, bytes(blob.data))
        try:
            decode_mask(enc)
        except MaskIntegrityError as exc:
            problems.append(f"{where}: mask blob {sha[:12]} is corrupt ({exc})")
            continue
        shapes.add(shape)
        masks.append(enc)
    if len(shapes) > 1:
        problems.append(f"{where}: lung and lesion masks have different shapes {sorted(shapes)}")
    if len(problems) > bad or ev is None:
        return None
    return SignedRead(code, row.id, row.revision, fields, tuple(masks), content, ev.hash)


def _inspect_database(path: Path, body: dict[str, Any], problems: list[str], keys: MasterKeys
                      ) -> tuple[list[SignedRead], list[PackageEvent], list[str]]:
    pkg = connect(path, upgrade=False)
    try:
        chain = verify_audit_trail(pkg)
        if not chain.ok:
            problems.append(f"{DATABASE_NAME}: package audit trail broken at event {chain.first_broken_id}: {chain.problem}")

        def work(s: Session) -> tuple[list[SignedRead], list[PackageEvent], list[str]]:
            events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
            anchor = body.get("database", {}).get("anchor_event_hash")
            if not events or events[0].hash != anchor or events[0].entity_id != body.get("package_id"):
                problems.append(f"{DATABASE_NAME}: its audit trail does not start with this package's creation event")
            users = list(s.scalars(select(User)))
            if len(users) != 1 or users[0].username != body.get("reader"):
                problems.append(f"{DATABASE_NAME}: it must hold exactly one account, the reader {body.get('reader')!r}")
                return [], [], []
            user = users[0]
            if user.public_key != keys.reader or user.password_hash:
                problems.append(f"{DATABASE_NAME}: the reader's account was altered (its key differs from the one "
                                "the master registered, or it holds a password verifier)")
            _check_signatures(events, keys, str(body.get("package_id")), problems)
            if events and events[0].signer_key != fingerprint(keys.manager):
                problems.append(f"{DATABASE_NAME}: its creation event is not signed by the exporting manager")
            manifest_tasks = {t["case_code"]: t for t in body.get("tasks", [])}
            rows = s.execute(select(ReadTask, Scan).join(Scan, Scan.id == ReadTask.scan_id)).all()
            codes = {t.case_code for t, _ in rows}
            if codes != set(manifest_tasks):
                extra, missing = sorted(codes - set(manifest_tasks)), sorted(set(manifest_tasks) - codes)
                problems.append(f"{DATABASE_NAME}: its tasks differ from the manifest (extra {extra}, missing {missing})")
            sign_events = {ev.entity_id: ev for ev in events if ev.action == "sign" and ev.entity == "read"}
            exported_at = _parse_time(body.get("created_at"))
            reads: list[SignedRead] = []
            unsigned: list[str] = []
            for task, scan in sorted(rows, key=lambda r: r[0].order_index):
                code = task.case_code
                entry = manifest_tasks.get(code)
                if entry is not None and (scan.series_uid != entry["series_uid"] or scan.content_hash != entry["content_hash"]
                                          or json.loads(scan.files_json) != entry["files"]):
                    problems.append(f"case {code}: its scan record differs from the manifest")
                if task.reader_id != user.id:
                    problems.append(f"case {code}: assigned to another account in the package")
                if task.status != "signed":
                    unsigned.append(code)
                    continue
                row = latest_read(s, task.id)
                if row is None:
                    problems.append(f"case {code}: marked signed but has no read")
                    continue
                checked = _check_read(s, code, task, user, row, sign_events, exported_at, problems, keys.reader)
                if checked is not None:
                    reads.append(checked)
            return reads, [PackageEvent(_event_dict(ev)) for ev in events], unsigned

        return pkg.read(work)
    finally:
        pkg.dispose()


def inspect_package(root: Path, body: dict[str, Any], mac: str, key: bytes, keys: MasterKeys) -> PackageContents:
    """Verify an unpacked package folder against its manifest, MAC key and the master's registered
    public keys; never modifies the package."""
    problems: list[str] = []
    if not hmac.compare_digest(manifest_mac(body, key), mac):
        problems.append("manifest.json: its HMAC does not verify (the manifest was altered)")
    if not manifest_signature_ok(root, body, keys.manager):
        problems.append("manifest.json: not signed by the manager who exported the package")
    problems += verify_files(root, body)
    db_file = root / DATABASE_NAME
    if not db_file.is_file():
        problems.append(f"{DATABASE_NAME}: file missing")
        return PackageContents(tuple(problems), (), (), ())
    # Work on a copy: opening SQLite (WAL) writes beside the file, and the package stays untouched.
    tmp = Path(tempfile.mkdtemp(prefix="lungread-verify-"))
    try:
        for suffix in ("", "-wal"):
            src = root / (DATABASE_NAME + suffix)
            if src.is_file():
                shutil.copy2(src, tmp / (DATABASE_NAME + suffix))
        try:
            reads, events, unsigned = _inspect_database(tmp / DATABASE_NAME, body, problems, keys)
        except Exception as exc:  # corrupt file: sqlite3/SQLAlchemy raise many types
            problems.append(f"{DATABASE_NAME}: unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
            reads, events, unsigned = [], [], []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PackageContents(tuple(problems), tuple(reads), tuple(events), tuple(unsigned))
