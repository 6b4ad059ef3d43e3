"""Reads: autosaved draft revisions, e-signature, reopening, not-evaluable reads, mask storage."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database
from db.errors import PermissionDenied, WorkflowError
from db.models import AdjudicationTask, Read, ReadTask, User
from db.records import Actor, ReadInput, SignatureView, TaskView
from db.security.access import refuse_if_locked, require_role, signing_key
from db.security.accounts import reauthenticate
from db.security.audit import append_event, utc_now
from db.security.read_hash import read_content_hash, read_fields
from db.security.signed_state import adjudication_state, read_state
from db.security.text_rules import MAX_REASON, check_text
from db.workflow.adjudication import on_read_signed
from db.workflow.masks import EncodedMask
from db.workflow.read_store import (
    encode_read_masks,
    latest_read,
    new_read_row,
    next_revision,
    read_summary,
    validate_for_signing,
)
from db.workflow.worklist import owned_task

__all__ = ["save_draft", "sign_read", "reopen_read"]


def _refuse_signed(task: ReadTask, what: str) -> None:
    if task.status == "signed":
        raise WorkflowError(
            f"case {task.case_code} is signed; {what} is refused. To change it, its reader or a manager "
            "must first reopen it with a reason (before the database lock)"
        )


def _writable_task(s: Session, actor: Actor, task_id: int, doing: str) -> tuple[User, ReadTask]:
    """The caller's own task, refused when the database is locked or the task is signed."""
    user, task = owned_task(s, actor, task_id)
    refuse_if_locked(s, f"{doing} a read")
    _refuse_signed(task, "signing again" if doing == "signing" else doing)
    return user, task


def _add_revision(s: Session, actor: Actor, task_id: int, read: ReadInput, doing: str,
                  encoded: tuple[EncodedMask | None, EncodedMask | None]) -> tuple[User, ReadTask, Read]:
    user, task = _writable_task(s, actor, task_id, doing)
    row = new_read_row(s, read, scan_id=task.scan_id, author_id=user.id, task_id=task.id,
                       revision=next_revision(s, task.id), encoded=encoded)
    return user, task, row


def save_draft(db: Database, actor: Actor, task_id: int, read: ReadInput) -> int:
    """Autosave the caller's read of a task as a new revision; returns the revision number."""
    encoded = encode_read_masks(read)

    def work(s: Session) -> int:
        user, task, row = _add_revision(s, actor, task_id, read, "saving", encoded)
        revision = row.revision
        old_status, task.status = task.status, "draft"
        append_event(s, user_id=user.id, username=user.username, action="save_draft", entity="read",
                     entity_id=row.id, old={"task_status": old_status, "revision": revision - 1},
                     new={"task_id": task.id, **read_summary(row)}, signer=signing_key(actor))
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
    db.read(lambda s: _writable_task(s, actor, task_id, "signing"))
    reauthenticate(db, actor, password, "sign_read")
    encoded = encode_read_masks(read)

    def work(s: Session) -> SignatureView:
        user, task, row = _add_revision(s, actor, task_id, read, "signing", encoded)
        revision = row.revision
        row.status, row.signed_by, row.signed_at, row.sign_meaning = "signed", user.id, utc_now(), meaning.strip()
        old_status, task.status = task.status, "signed"
        s.flush()  # column defaults filled in, so the hash covers what is stored
        content = read_content_hash(task.case_code, user.username, revision, read_fields(row))
        append_event(s, user_id=user.id, username=user.username, action="sign", entity="read", entity_id=row.id,
                     old={"task_status": old_status},
                     new={"task_id": task.id, "signed_at": row.signed_at, "meaning": row.sign_meaning,
                          "content_sha256": content, **read_summary(row)},
                     signer=signing_key(actor), state=read_state(row))
        on_read_signed(s, task.scan_id)
        return SignatureView(case_code=task.case_code, revision=revision, signer=user.username,
                             signed_at=row.signed_at, meaning=row.sign_meaning)

    return db.write(work)


def reopen_read(db: Database, actor: Actor, task_id: int, reason: str) -> TaskView:
    """Reopen a signed read (its reader or a manager, with a reason, before lock and adjudication)."""
    reason = check_text(reason, "the reason", MAX_REASON)
    if not reason:
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
                     reason=reason.strip(), signer=signing_key(actor), state=read_state(signed))
        if adj is not None:
            adj.status = "cancelled"
            append_event(s, user_id=user.id, username=user.username, action="cancel", entity="adjudication",
                         entity_id=adj.id, old={"status": "open"}, new={"status": "cancelled"},
                         reason=f"read of task {task.id} reopened", signer=signing_key(actor),
                         state=adjudication_state(adj))
        return TaskView(task.id, task.case_code, task.status, task.order_index)

    return db.write(work)

