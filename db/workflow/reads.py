"""Reads: autosaved draft revisions, e-signature, reopening, not-evaluable reads, mask storage."""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import PermissionDenied, WorkflowError
from db.models import AdjudicationTask, MaskBlob, Read, ReadTask
from db.records import Actor, ReadInput, ReadView, SignatureView, TaskView
from db.security.access import refuse_if_locked, require_role
from db.security.accounts import reauthenticate
from db.security.audit import append_event, utc_now
from db.security.read_hash import read_content_hash, read_fields
from db.workflow.masks import EncodedMask, decode_mask, encode_mask
from db.workflow.worklist import owned_task

__all__ = [
    "save_draft",
    "sign_read",
    "reopen_read",
    "latest_read",
    "read_view",
    "store_mask",
    "load_mask",
    "new_read_row",
    "validate_for_signing",
    "encode_read_masks",
]


def store_mask(s: Session, encoded: EncodedMask) -> str:
    """Insert the blob unless the same content is already stored; returns its SHA-256 key."""
    if s.get(MaskBlob, encoded.sha256) is None:
        s.add(MaskBlob(sha256=encoded.sha256, codec=encoded.codec, shape=",".join(map(str, encoded.shape)),
                       dtype=encoded.dtype, n_runs=encoded.n_runs, data=encoded.data))
        s.flush()
    return encoded.sha256


def load_mask(s: Session, sha: str | None) -> np.ndarray | None:
    if sha is None:
        return None
    blob = s.get(MaskBlob, sha)
    if blob is None:
        return None
    shape = tuple(int(n) for n in blob.shape.split(",")) if blob.shape else ()
    return decode_mask(EncodedMask(shape, blob.dtype, blob.codec, blob.n_runs, blob.sha256, bytes(blob.data)))


def _clean_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, (bool, np.bool_)):
            out[str(key)] = bool(value)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            v = float(value)
            out[str(key)] = v if math.isfinite(v) else None
        elif value is None or isinstance(value, str):
            out[str(key)] = value
        else:
            raise WorkflowError(f"metric {key!r} must be a number, text or yes/no, not {type(value).__name__}")
    return out


def _pct(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def validate_for_signing(read: ReadInput) -> None:
    """A signed read has lesion_pct and solid_pct (percent of lung volume), or a not-evaluable reason."""
    if read.not_evaluable_reason is not None:
        if not read.not_evaluable_reason.strip():
            raise WorkflowError("a not-evaluable read needs a reason (motion, wrong series, incomplete coverage...)")
        return
    metrics = _clean_metrics(read.metrics)
    for key in ("lesion_pct", "solid_pct"):
        value = _pct(metrics, key)
        if value is None or not 0.0 <= value <= 100.0:
            raise WorkflowError(f"cannot sign: metric {key} (percent of lung volume, 0-100) is missing or invalid")
    if read.confidence is not None and not 1 <= int(read.confidence) <= 5:
        raise WorkflowError("confidence is 1 (low) to 5 (high)")


def new_read_row(
    s: Session, read: ReadInput, *, scan_id: int, author_id: int, task_id: int | None, revision: int,
    encoded: tuple[EncodedMask | None, EncodedMask | None],
) -> Read:
    metrics = _clean_metrics(read.metrics)
    lung_sha = store_mask(s, encoded[0]) if encoded[0] is not None else None
    lesion_sha = store_mask(s, encoded[1]) if encoded[1] is not None else None
    row = Read(
        task_id=task_id, scan_id=scan_id, author_id=author_id, revision=revision, status="draft",
        metrics_json=json.dumps(metrics, sort_keys=True), lesion_pct=_pct(metrics, "lesion_pct"),
        solid_pct=_pct(metrics, "solid_pct"), normal_ct=read.normal_ct,
        confidence=None if read.confidence is None else int(read.confidence), comment=read.comment or "",
        not_evaluable_reason=read.not_evaluable_reason, algorithm_version=read.algorithm_version,
        protocol_hash=read.protocol_hash, lung_mask_sha=lung_sha, lesion_mask_sha=lesion_sha, saved_at=utc_now(),
    )
    s.add(row)
    s.flush()
    return row


_POOL: ThreadPoolExecutor | None = None


def _encoder_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lungread-mask-encoder")
    return _POOL


def _forget_pool_after_fork() -> None:
    # A forked child inherits the executor object but not its thread: submitting would hang.
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_pool_after_fork)


def encode_read_masks(read: ReadInput) -> tuple[EncodedMask | None, EncodedMask | None]:
    # Compression happens before the transaction so the write lock is held as briefly as possible.
    # The two masks are encoded in parallel threads: numpy comparisons and zlib release the GIL.
    if read.lung_labels is not None and read.lesion_labels is not None:
        lesion_f = _encoder_pool().submit(encode_mask, read.lesion_labels)
        lung = encode_mask(read.lung_labels)
        lesion = lesion_f.result()
    else:
        lung = encode_mask(read.lung_labels) if read.lung_labels is not None else None
        lesion = encode_mask(read.lesion_labels) if read.lesion_labels is not None else None
    if lung is not None and lesion is not None and lung.shape != lesion.shape:
        raise WorkflowError(f"lung mask shape {lung.shape} differs from lesion mask shape {lesion.shape}")
    return lung, lesion


def latest_read(s: Session, task_id: int) -> Read | None:
    return s.scalars(select(Read).where(Read.task_id == task_id).order_by(Read.revision.desc()).limit(1)).first()


def _summary(row: Read) -> dict[str, Any]:
    return {"revision": row.revision, "lesion_pct": row.lesion_pct, "solid_pct": row.solid_pct,
            "normal_ct": row.normal_ct, "confidence": row.confidence, "not_evaluable": row.not_evaluable_reason,
            "lung_mask": row.lung_mask_sha, "lesion_mask": row.lesion_mask_sha}


def read_view(s: Session, row: Read, label: str, *, with_masks: bool = True) -> ReadView:
    return ReadView(
        label=label, revision=row.revision, status=row.status, metrics=json.loads(row.metrics_json),
        normal_ct=row.normal_ct, confidence=row.confidence, comment=row.comment,
        not_evaluable_reason=row.not_evaluable_reason, algorithm_version=row.algorithm_version,
        protocol_hash=row.protocol_hash, saved_at=row.saved_at, signed_at=row.signed_at,
        sign_meaning=row.sign_meaning,
        lung_labels=load_mask(s, row.lung_mask_sha) if with_masks else None,
        lesion_labels=load_mask(s, row.lesion_mask_sha) if with_masks else None,
    )


def _refuse_signed(task: ReadTask, what: str) -> None:
    if task.status == "signed":
        raise WorkflowError(
            f"case {task.case_code} is signed; {what} is refused. To change it, its reader or a manager "
            "must first reopen it with a reason (before the database lock)"
        )


def save_draft(db: Database, actor: Actor, task_id: int, read: ReadInput) -> int:
    """Autosave the caller's read of a task as a new revision; returns the revision number."""
    encoded = encode_read_masks(read)

    def work(s: Session) -> int:
        user, task = owned_task(s, actor, task_id)
        refuse_if_locked(s, "saving a read")
        _refuse_signed(task, "saving")
        revision = (s.scalar(select(func.max(Read.revision)).where(Read.task_id == task.id)) or 0) + 1
        row = new_read_row(s, read, scan_id=task.scan_id, author_id=user.id, task_id=task.id,
                           revision=revision, encoded=encoded)
        old_status, task.status = task.status, "draft"
        append_event(s, user_id=user.id, username=user.username, action="save_draft", entity="read",
                     entity_id=row.id, old={"task_status": old_status, "revision": revision - 1},
                     new={"task_id": task.id, **_summary(row)})
        return revision

    return db.write(work)


def sign_read(
    db: Database, actor: Actor, task_id: int, read: ReadInput, password: str, meaning: str
) -> SignatureView:
    """E-sign the caller's read: re-enter the password; the signed revision is locked.

    Records signer, UTC time and ``meaning`` (e.g. "I am the author of this read"). When both reads
    of the scan are signed and discordant under the charter, an adjudication task is created.
    """
    if not meaning or not meaning.strip():
        raise WorkflowError("a signature needs a meaning (for example: 'I am the author of this read')")
    validate_for_signing(read)
    # Check ownership and state before asking for the password, so a stranger's wrong guess at
    # someone else's case is a PermissionDenied and not a failed login.
    def precheck(s: Session) -> None:
        _user, task = owned_task(s, actor, task_id)
        refuse_if_locked(s, "signing a read")
        _refuse_signed(task, "signing again")

    db.read(precheck)
    reauthenticate(db, actor, password, "sign_read")
    encoded = encode_read_masks(read)

    def work(s: Session) -> SignatureView:
        from db.workflow.adjudication import on_read_signed

        user, task = owned_task(s, actor, task_id)
        refuse_if_locked(s, "signing a read")
        _refuse_signed(task, "signing again")
        revision = (s.scalar(select(func.max(Read.revision)).where(Read.task_id == task.id)) or 0) + 1
        row = new_read_row(s, read, scan_id=task.scan_id, author_id=user.id, task_id=task.id,
                           revision=revision, encoded=encoded)
        row.status, row.signed_by, row.signed_at, row.sign_meaning = "signed", user.id, utc_now(), meaning.strip()
        old_status, task.status = task.status, "signed"
        s.flush()  # column defaults filled in, so the hash covers what is stored
        content = read_content_hash(task.case_code, user.username, revision, read_fields(row))
        append_event(s, user_id=user.id, username=user.username, action="sign", entity="read", entity_id=row.id,
                     old={"task_status": old_status},
                     new={"task_id": task.id, "signed_at": row.signed_at, "meaning": row.sign_meaning,
                          "content_sha256": content, **_summary(row)})
        on_read_signed(s, task.scan_id)
        return SignatureView(case_code=task.case_code, revision=revision, signer=user.username,
                             signed_at=row.signed_at, meaning=row.sign_meaning)

    return db.write(work)


def reopen_read(db: Database, actor: Actor, task_id: int, reason: str) -> TaskView:
    """Reopen a signed read (its reader or a manager, with a reason, before lock and adjudication)."""
    if not reason or not reason.strip():
        raise WorkflowError("reopening a signed read needs a reason")

    def work(s: Session) -> TaskView:
        user = require_role(s, actor, ("reader", "adjudicator", "manager"),
                            "only the read's own reader or a manager may reopen a signed read")
        task = s.get(ReadTask, task_id)
        if task is None or (user.role != "manager" and task.reader_id != user.id):
            raise PermissionDenied("only the read's own reader or a manager may reopen a signed read, before the database lock")
        refuse_if_locked(s, "reopening a read")
        if task.status != "signed":
            raise WorkflowError(f"case {task.case_code} is not signed; there is nothing to reopen")
        adj = s.scalars(select(AdjudicationTask).where(AdjudicationTask.scan_id == task.scan_id,
                                                       AdjudicationTask.status != "cancelled")).first()
        if adj is not None and adj.status == "decided":
            raise WorkflowError(f"case {task.case_code} was adjudicated; a decided adjudication cannot be reopened")
        signed = latest_read(s, task.id)
        assert signed is not None
        signed.status = "reopened"
        task.status = "draft"
        append_event(s, user_id=user.id, username=user.username, action="reopen", entity="read", entity_id=signed.id,
                     old={"status": "signed", "task_status": "signed"}, new={"status": "reopened", "task_status": "draft"},
                     reason=reason.strip())
        if adj is not None:
            adj.status = "cancelled"
            append_event(s, user_id=user.id, username=user.username, action="cancel", entity="adjudication",
                         entity_id=adj.id, old={"status": "open"}, new={"status": "cancelled"},
                         reason=f"read of task {task.id} reopened")
        return TaskView(task.id, task.case_code, task.status, task.order_index)

    return db.write(work)

