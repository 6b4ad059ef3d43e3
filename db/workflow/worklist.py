"""Worklist generation (two distinct readers per scan, shuffled per reader with a stored seed) and
the reader-side task list. Everything returned here is blinded (see :mod:`db.records`)."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.charter import Charter, visit_order
from db.engine import Database
from db.errors import PermissionDenied, WorkflowError
from db.models import AdjudicationTask, Read, ReadTask, Scan, User, Visit
from db.records import Actor, CaseView, ReferenceCase, TaskView, WorklistReport
from db.security.access import charter_of, current_trial, refuse_if_locked, require_role, signing_key
from db.security.audit import append_event, utc_now
from db.workflow.imagelinks import case_images
from db.workflow.read_store import latest_read, load_mask, read_view

__all__ = [
    "generate_worklist",
    "worklist",
    "next_task",
    "open_task",
    "new_case_code",
    "owned_task",
    "taken_case_codes",
]

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
READ_ROLES = ("reader", "adjudicator")


def new_case_code(taken: set[str]) -> str:
    """A random case code like ``K7M-Q2XD`` (cryptographic randomness: unrelated to subject/visit)."""
    while True:
        raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(7))
        code = f"{raw[:3]}-{raw[3:]}"
        if code not in taken:
            taken.add(code)
            return code


def taken_case_codes(s: Session) -> set[str]:
    codes = set(s.scalars(select(ReadTask.case_code)))
    codes.update(s.scalars(select(AdjudicationTask.case_code)))
    return codes


def generate_worklist(
    db: Database, actor: Actor, seed: int | None = None, readers: list[str] | None = None
) -> WorklistReport:
    """Manager: give every scan without tasks to 2 distinct readers and shuffle each reader's order.

    ``readers``: usernames (default: every active reader-role account); adjudicator accounts may be
    listed explicitly. Load is balanced; ties and orders come from ``numpy.random.default_rng(seed)``
    and the seed is stored on the trial (and in the audit trail). Case codes are random.
    """
    if seed is None:
        seed = secrets.randbelow(2**31)
    seed = int(seed)

    def work(s: Session) -> WorklistReport:
        manager = require_role(s, actor, ("manager",), "only a manager may generate the worklist, before the database is locked")
        refuse_if_locked(s, "generating the worklist")
        trial = current_trial(s)
        if readers is None:
            pool = list(s.scalars(select(User).where(User.role == "reader", User.active.is_(True)).order_by(User.id)))
        else:
            pool = []
            for name in readers:
                user = s.scalars(select(User).where(User.username == name)).first()
                if user is None or not user.active:
                    raise WorkflowError(f"no active account {name!r}")
                if user.role not in READ_ROLES:
                    raise WorkflowError(f"{name!r} is a {user.role}; only readers and adjudicators can read")
                pool.append(user)
        if len({u.id for u in pool}) < 2:
            raise WorkflowError("the worklist needs at least 2 reader accounts (each scan is read by 2 distinct readers)")
        assigned = set(s.scalars(select(ReadTask.scan_id).distinct()))
        scan_ids = [sid for sid in s.scalars(select(Scan.id).order_by(Scan.id)) if sid not in assigned]
        if not scan_ids:
            raise WorkflowError("every imported scan already has its readers; import new scans first")
        rng = np.random.default_rng(seed)
        reader_ids = [u.id for u in pool]
        load = {rid: 0 for rid in reader_ids}
        start = {rid: 0 for rid in reader_ids}
        for rid, max_idx in s.execute(select(ReadTask.reader_id, ReadTask.order_index)):
            if rid in start:
                start[rid] = max(start[rid], max_idx + 1)
                load[rid] += 1
        per_reader: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for sid in rng.permutation(np.array(scan_ids)).tolist():
            # Two least-loaded readers; random tie-break so no reader pair is systematic.
            jitter = rng.random(len(reader_ids))
            ranked = sorted(range(len(reader_ids)), key=lambda k: (load[reader_ids[k]], jitter[k]))
            for slot, k in enumerate(ranked[:2], start=1):
                rid = reader_ids[k]
                per_reader[rid].append((sid, slot))
                load[rid] += 1
        taken = taken_case_codes(s)
        now = utc_now()
        rows = []
        for rid in reader_ids:
            items = per_reader.get(rid, [])
            order = rng.permutation(len(items)).tolist()
            for pos, idx in enumerate(order):
                sid, slot = items[idx]
                rows.append({"scan_id": sid, "reader_id": rid, "reader_slot": slot, "case_code": new_case_code(taken),
                             "order_index": start[rid] + pos, "status": "new", "created_at": now})
        s.execute(insert(ReadTask), rows)
        old_seed = trial.worklist_seed
        trial.worklist_seed = seed
        names = {u.id: u.username for u in pool}
        counts = {names[rid]: len(per_reader.get(rid, [])) for rid in reader_ids}
        append_event(s, user_id=manager.id, username=manager.username, action="create", entity="worklist",
                     entity_id=trial.id, old={"seed": old_seed},
                     new={"seed": seed, "n_scans": len(scan_ids), "n_tasks": len(rows), "tasks_per_reader": counts}, signer=signing_key(actor))
        return WorklistReport(seed=seed, n_scans=len(scan_ids), n_tasks=len(rows), tasks_per_reader=counts)

    return db.write(work)


def _task_view(t: ReadTask, not_evaluable: str | None = None) -> TaskView:
    return TaskView(task_id=t.id, case_code=t.case_code, status=t.status, order_index=t.order_index,
                    not_evaluable=not_evaluable if t.status == "signed" else None)


_READER_RULE = "only a reader or adjudicator with assigned reading tasks has a worklist"


def worklist(db: Database, actor: Actor) -> list[TaskView]:
    """The caller's own reading tasks in their shuffled order (blinded)."""

    def work(s: Session) -> list[TaskView]:
        user = require_role(s, actor, READ_ROLES, _READER_RULE)
        q = select(ReadTask).where(ReadTask.reader_id == user.id).order_by(ReadTask.order_index)
        tasks = list(s.scalars(q))
        reasons: dict[int, tuple[int, str | None]] = {}  # task -> (revision, reason) of its newest signed read
        for task_id, revision, reason in s.execute(
                select(Read.task_id, Read.revision, Read.not_evaluable_reason)
                .join(ReadTask, Read.task_id == ReadTask.id)
                .where(ReadTask.reader_id == user.id, Read.status == "signed")):
            if task_id not in reasons or revision > reasons[task_id][0]:
                reasons[task_id] = (revision, reason)
        return [_task_view(t, reasons.get(t.id, (0, None))[1]) for t in tasks]

    return db.read(work)


def next_task(db: Database, actor: Actor) -> TaskView | None:
    """The caller's first unsigned task in their order (a draft in progress counts), or None."""

    def work(s: Session) -> TaskView | None:
        user = require_role(s, actor, READ_ROLES, _READER_RULE)
        q = (select(ReadTask).where(ReadTask.reader_id == user.id, ReadTask.status != "signed")
             .order_by(ReadTask.order_index).limit(1))
        t = s.scalars(q).first()
        return _task_view(t) if t else None

    return db.read(work)


def owned_task(s: Session, actor: Actor, task_id: int) -> tuple[User, ReadTask]:
    """The task, if it is the caller's; otherwise PermissionDenied (same message whether or not it exists)."""
    user = require_role(s, actor, READ_ROLES, "only the reader a case is assigned to may open or edit it")
    task = s.get(ReadTask, task_id)
    if task is None or task.reader_id != user.id:
        raise PermissionDenied(
            f"task {task_id} is not on your worklist: only the reader a case is assigned to may open or edit it"
        )
    return user, task


def _reference_case(s: Session, user: User, scan: Scan, charter: Charter, with_masks: bool) -> ReferenceCase | None:
    """The subject's baseline scan (first visit in the charter's order) when ``scan`` is a
    follow-up and the reader has a task on the baseline; with the reader's own signed read's
    lesion mask. Nothing of other readers, and no visit names."""
    visit = s.get(Visit, scan.visit_id)
    assert visit is not None
    rows = s.execute(select(Scan, Visit.name, Visit.visit_day).join(Visit, Scan.visit_id == Visit.id)
                     .where(Visit.subject_id == visit.subject_id)).all()
    order = visit_order(charter, {(name, day) for _, name, day in rows})
    baseline = min(rows, key=lambda r: order[r[1]][0])[0]
    if baseline.id == scan.id:
        return None
    task = s.scalars(select(ReadTask).where(ReadTask.scan_id == baseline.id, ReadTask.reader_id == user.id)).first()
    if task is None:
        return None
    series_dir, files, image_hash = case_images(s, baseline, task.case_code)
    signed = latest_read(s, task.id, signed=True)
    lesions = load_mask(s, signed.lesion_mask_sha) if signed is not None and with_masks else None
    return ReferenceCase(task.case_code, series_dir, files, lesions, image_hash)


def open_task(db: Database, actor: Actor, task_id: int, *, with_masks: bool = True) -> CaseView:
    """Open one of the caller's tasks: its de-identified images and the caller's own latest read."""

    def work(s: Session) -> CaseView:
        user, task = owned_task(s, actor, task_id)
        scan = s.get(Scan, task.scan_id)
        assert scan is not None
        series_dir, files, image_hash = case_images(s, scan, task.case_code)
        latest = latest_read(s, task.id)
        draft = read_view(s, latest, "own", with_masks=with_masks) if latest is not None else None
        charter = charter_of(current_trial(s))
        reference = _reference_case(s, user, scan, charter, with_masks) if charter.sequential_reading else None
        append_event(s, user_id=user.id, username=user.username, action="open", entity="read_task", entity_id=task.id,
                     signer=signing_key(actor))
        return CaseView(task_id=task.id, case_code=task.case_code, status=task.status, series_dir=series_dir,
                        series_files=files, display=json.loads(scan.display_json), draft=draft, reference=reference,
                        content_hash=image_hash)

    return db.write(work)
