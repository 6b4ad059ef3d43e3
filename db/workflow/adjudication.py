"""Adjudication of discordant read pairs: trigger, assignment, blinded A/B view, signed decision."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.engine import Database
from db.errors import PermissionDenied, WorkflowError
from db.models import AdjudicationTask, Read, ReadTask, Scan, User
from db.records import Actor, AdjudicationDecision, AdjudicationTaskView, AdjudicationView, ReadInput
from db.security.access import charter_of, current_trial, refuse_if_locked, require_role, signing_key
from db.security.accounts import reauthenticate
from db.security.audit import append_event, utc_now
from db.security.signed_state import adjudication_state, read_state
from db.workflow.imagelinks import case_images
from db.workflow.read_store import encode_read_masks, latest_read, new_read_row, read_view, validate_for_signing
from db.workflow.worklist import new_case_code, taken_case_codes

__all__ = [
    "ADJUDICATION_REASONS",
    "discordance",
    "on_read_signed",
    "adjudication_queue",
    "open_adjudication",
    "decide_adjudication",
    "assign_adjudicator",
]

_ADJ_RULE = "only the adjudicator assigned to this case may open or decide it, before the database lock"


#: Decimals (percentage points) at which |Δ lesion %| is compared with the charter's threshold.
THRESHOLD_DECIMALS = 2


def discordance(charter: Charter, a: Read, b: Read) -> str | None:
    """Why two signed reads need adjudication under the charter, or None when they are concordant."""
    a_ne, b_ne = a.not_evaluable_reason is not None, b.not_evaluable_reason is not None
    if a_ne and b_ne:
        return None
    if a_ne != b_ne:
        return "one read is not evaluable and the other is"
    reasons = []
    if a.lesion_pct is not None and b.lesion_pct is not None:
        # At the charter's precision (0.01 points, as reported): float noise must not decide, e.g.
        # 10.3 - 5.3 = 5.000000000000001 is exactly the threshold 5, like 12.7 - 7.7.
        delta = round(abs(a.lesion_pct - b.lesion_pct), THRESHOLD_DECIMALS)
        if delta > round(charter.adjudication_threshold_pct, THRESHOLD_DECIMALS):
            reasons.append(f"|Δ lesion %| = {delta:.2f} points > {charter.adjudication_threshold_pct:g}")
    if (charter.adjudicate_normal_disagreement and a.normal_ct is not None and b.normal_ct is not None
            and a.normal_ct != b.normal_ct):
        reasons.append("the readers disagree on normal CT")
    return "; ".join(reasons) or None


def _signed_reads(s: Session, scan_id: int) -> list[tuple[ReadTask, Read]]:
    out = []
    for task in s.scalars(select(ReadTask).where(ReadTask.scan_id == scan_id).order_by(ReadTask.reader_slot)):
        row = latest_read(s, task.id, signed=True)
        if task.status == "signed" and row is not None:
            out.append((task, row))
    return out


def _pick_adjudicator(s: Session, exclude: set[int]) -> int | None:
    """The active adjudicator with the fewest open adjudications who did not read the scan."""
    best: tuple[int, int] | None = None
    for user in s.scalars(select(User).where(User.role == "adjudicator", User.active.is_(True)).order_by(User.id)):
        if user.id in exclude:
            continue
        n_open = s.scalar(select(func.count(AdjudicationTask.id)).where(
            AdjudicationTask.adjudicator_id == user.id, AdjudicationTask.status == "open")) or 0
        if best is None or n_open < best[0]:
            best = (n_open, user.id)
    return None if best is None else best[1]


def on_read_signed(s: Session, scan_id: int) -> AdjudicationTask | None:
    """Called in the signing transaction: open an adjudication when both reads are signed and discordant."""
    pairs = _signed_reads(s, scan_id)
    n_tasks = s.scalar(select(func.count(ReadTask.id)).where(ReadTask.scan_id == scan_id)) or 0
    if len(pairs) < 2 or len(pairs) != n_tasks:
        return None
    charter = charter_of(current_trial(s))
    trigger = discordance(charter, pairs[0][1], pairs[1][1])
    if trigger is None:
        return None
    readers = {t.reader_id for t, _ in pairs}
    adjudicator = _pick_adjudicator(s, readers)
    first, second = (pairs[0][1], pairs[1][1]) if secrets.randbelow(2) == 0 else (pairs[1][1], pairs[0][1])
    adj = AdjudicationTask(
        scan_id=scan_id, adjudicator_id=adjudicator, case_code=new_case_code(taken_case_codes(s)),
        read_a_id=first.id, read_b_id=second.id, trigger=trigger, status="open", created_at=utc_now(),
    )
    s.add(adj)
    s.flush()
    append_event(s, user_id=None, username=None, action="create", entity="adjudication", entity_id=adj.id,
                 new={"scan_id": scan_id, "adjudicator_id": adjudicator, "read_a": first.id, "read_b": second.id,
                      "trigger": trigger})
    return adj


def _view(adj: AdjudicationTask) -> AdjudicationTaskView:
    return AdjudicationTaskView(adjudication_id=adj.id, case_code=adj.case_code, status=adj.status)


def adjudication_queue(db: Database, actor: Actor) -> list[AdjudicationTaskView]:
    """The caller's adjudications (open first), blinded to case codes."""

    def work(s: Session) -> list[AdjudicationTaskView]:
        user = require_role(s, actor, ("adjudicator",), "only adjudicators have an adjudication queue")
        q = select(AdjudicationTask).where(AdjudicationTask.adjudicator_id == user.id,
                                           AdjudicationTask.status != "cancelled").order_by(AdjudicationTask.id)
        items = [_view(a) for a in s.scalars(q)]
        return sorted(items, key=lambda v: v.status != "open")

    return db.read(work)


def _owned(s: Session, actor: Actor, adj_id: int) -> tuple[User, AdjudicationTask]:
    user = require_role(s, actor, ("adjudicator",), _ADJ_RULE)
    adj = s.get(AdjudicationTask, adj_id)
    if adj is None or adj.adjudicator_id != user.id or adj.status == "cancelled":
        raise PermissionDenied(f"adjudication {adj_id} is not in your queue: {_ADJ_RULE}")
    readers = set(s.scalars(select(ReadTask.reader_id).where(ReadTask.scan_id == adj.scan_id)))
    if user.id in readers:
        raise PermissionDenied("you read this scan yourself; an adjudicator must not be one of its two readers")
    return user, adj


def open_adjudication(db: Database, actor: Actor, adj_id: int, *, with_masks: bool = True) -> AdjudicationView:
    """The two reads as anonymous "Read A" and "Read B" (stored random order) plus blinded images."""

    def work(s: Session) -> AdjudicationView:
        user, adj = _owned(s, actor, adj_id)
        scan = s.get(Scan, adj.scan_id)
        read_a, read_b = s.get(Read, adj.read_a_id), s.get(Read, adj.read_b_id)
        assert scan is not None and read_a is not None and read_b is not None
        series_dir, files, image_hash = case_images(s, scan, adj.case_code)
        append_event(s, user_id=user.id, username=user.username, action="open", entity="adjudication", entity_id=adj.id,
                     signer=signing_key(actor))
        return AdjudicationView(
            adjudication_id=adj.id, case_code=adj.case_code, status=adj.status, trigger=adj.trigger,
            series_dir=series_dir, series_files=files, display=json.loads(scan.display_json),
            read_a=read_view(s, read_a, "Read A", with_masks=with_masks),
            read_b=read_view(s, read_b, "Read B", with_masks=with_masks), content_hash=image_hash,
        )

    return db.write(work)


#: Why an adjudicator decided as they did; one is required with every decision, with free text.
ADJUDICATION_REASONS = (
    "lesion extent", "ground glass vs solid", "missed lesion", "false lesion (vessel, atelectasis, artefact)",
    "lung mask", "normal-CT call", "image quality", "other",
)
_MAX_RATIONALE = 2000  # characters


def decide_adjudication(
    db: Database, actor: Actor, adj_id: int, choice: str, password: str, meaning: str,
    own: ReadInput | None = None, *, reason: str | None = None, rationale: str | None = None,
) -> AdjudicationDecision:
    """Sign the decision: ``"A"`` or ``"B"`` selects that read, ``"own"`` signs ``own`` as the result.
    ``reason`` (one of :data:`ADJUDICATION_REASONS`) and ``rationale`` (free text) are required and
    kept with the decision and in the audit trail."""
    if choice not in ("A", "B", "own"):
        raise WorkflowError("choose 'A', 'B' or 'own'")
    if reason not in ADJUDICATION_REASONS:
        raise WorkflowError("an adjudication needs its reason, one of: " + "; ".join(ADJUDICATION_REASONS))
    rationale = (rationale or "").strip()
    if not rationale:
        raise WorkflowError("an adjudication needs a rationale: say in a few words why this read is the result")
    if len(rationale) > _MAX_RATIONALE:
        raise WorkflowError(f"the rationale is limited to {_MAX_RATIONALE} characters")
    if choice == "own":
        if own is None:
            raise WorkflowError("choosing your own read needs the read itself (metrics, masks...)")
        validate_for_signing(own)
    if not meaning or not meaning.strip():
        raise WorkflowError("a signature needs a meaning (for example: 'I adjudicated this case')")

    def precheck(s: Session) -> None:
        _user, adj = _owned(s, actor, adj_id)
        refuse_if_locked(s, "adjudicating")
        if adj.status != "open":
            raise WorkflowError(f"adjudication {adj.case_code} is already {adj.status}")

    db.read(precheck)
    reauthenticate(db, actor, password, "adjudicate")
    encoded = encode_read_masks(own) if own is not None and choice == "own" else (None, None)

    def work(s: Session) -> AdjudicationDecision:
        user, adj = _owned(s, actor, adj_id)
        refuse_if_locked(s, "adjudicating")
        if adj.status != "open":
            raise WorkflowError(f"adjudication {adj.case_code} is already {adj.status}")
        now = utc_now()
        if choice == "own":
            assert own is not None
            row = new_read_row(s, own, scan_id=adj.scan_id, author_id=user.id, task_id=None, revision=1,
                               encoded=encoded)
            row.status, row.signed_by, row.signed_at, row.sign_meaning = "signed", user.id, now, meaning.strip()
            s.flush()
            chosen = row.id
            append_event(s, user_id=user.id, username=user.username, action="sign", entity="read", entity_id=row.id,
                         new={"adjudication_id": adj.id, "signed_at": now, "meaning": row.sign_meaning,
                              "lesion_pct": row.lesion_pct, "solid_pct": row.solid_pct},
                         signer=signing_key(actor), state=read_state(row))
        else:
            chosen = adj.read_a_id if choice == "A" else adj.read_b_id
        adj.status, adj.choice, adj.chosen_read_id = "decided", choice, chosen
        adj.signed_at, adj.sign_meaning = now, meaning.strip()
        adj.rationale_reason, adj.rationale = reason, rationale
        append_event(s, user_id=user.id, username=user.username, action="sign", entity="adjudication",
                     entity_id=adj.id, old={"status": "open"},
                     new={"status": "decided", "choice": choice, "chosen_read_id": chosen, "signed_at": now,
                          "meaning": adj.sign_meaning, "reason": reason, "rationale": rationale},
                     signer=signing_key(actor), state=adjudication_state(adj))
        return AdjudicationDecision(adj.id, adj.case_code, choice, user.username, now, adj.sign_meaning)

    return db.write(work)


def assign_adjudicator(db: Database, actor: Actor, adj_id: int, username: str) -> AdjudicationTaskView:
    """Manager: (re)assign an open adjudication to an adjudicator who did not read the scan."""

    def work(s: Session) -> AdjudicationTaskView:
        manager = require_role(s, actor, ("manager",), "only a manager may assign adjudications, before the database lock")
        refuse_if_locked(s, "assigning an adjudication")
        adj = s.get(AdjudicationTask, adj_id)
        if adj is None or adj.status != "open":
            raise WorkflowError(f"adjudication {adj_id} is not open")
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active or user.role != "adjudicator":
            raise WorkflowError(f"{username!r} is not an active adjudicator account")
        readers = set(s.scalars(select(ReadTask.reader_id).where(ReadTask.scan_id == adj.scan_id)))
        if user.id in readers:
            raise PermissionDenied(
                f"{username} read this scan; an adjudicator must be someone other than its two readers"
            )
        old = adj.adjudicator_id
        adj.adjudicator_id = user.id
        append_event(s, user_id=manager.id, username=manager.username, action="assign", entity="adjudication",
                     entity_id=adj.id, old={"adjudicator_id": old}, new={"adjudicator_id": user.id},
                     signer=signing_key(actor))
        return _view(adj)

    return db.write(work)
