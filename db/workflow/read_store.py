"""Where reads are stored: read rows and their revisions, checksummed masks, the plain views of both.

The read services (:mod:`db.workflow.reads`), adjudication, the worklist, packages and exports all
read and write reads through here, so "the latest read of a task" and "the next revision" are one
query each.
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.errors import WorkflowError
from db.models import MaskBlob, Read
from db.records import ReadInput, ReadView
from db.security.audit import utc_now
from db.security.text_rules import MAX_COMMENT, MAX_REASON, check_text
from db.workflow.masks import EncodedMask, decode_mask, encode_mask

__all__ = [
    "store_mask",
    "load_mask",
    "validate_for_signing",
    "new_read_row",
    "encode_read_masks",
    "latest_read",
    "next_revision",
    "read_summary",
    "read_view",
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
    check_text(read.comment, "a comment", MAX_COMMENT)
    if read.not_evaluable_reason is not None:
        check_text(read.not_evaluable_reason, "the not-evaluable reason", MAX_REASON)
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


def latest_read(s: Session, task_id: int, *, signed: bool = False) -> Read | None:
    """The newest revision of a task's read (``signed``: the newest signed one), or None."""
    query = select(Read).where(Read.task_id == task_id)
    if signed:
        query = query.where(Read.status == "signed")
    return s.scalars(query.order_by(Read.revision.desc()).limit(1)).first()


def next_revision(s: Session, task_id: int) -> int:
    """The revision number the next saved read of a task gets (1 for the first)."""
    return (s.scalar(select(func.max(Read.revision)).where(Read.task_id == task_id)) or 0) + 1


def read_summary(row: Read) -> dict[str, Any]:
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
