"""Changing the trial charter (manager), while that is still fair.

The charter decides which read pairs go to adjudication at the moment the second read is signed,
and how endpoint values are resolved, so it is fixed once the first read is signed: a rule
changed after that would treat reads already signed differently from later ones. Until then a
manager may change it, with a reason; old and new charter go into the audit trail.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.charter import Charter
from db.engine import Database
from db.errors import WorkflowError
from db.models import Read, Scan, Subject, Visit
from db.records import Actor, TrialView
from db.security.access import charter_of, current_trial, refuse_if_locked, require_role, signing_key
from db.security.audit import append_event
from db.security.signed_state import trial_state
from db.security.text_rules import MAX_REASON, check_text

__all__ = ["set_charter"]

_RULE = "only a manager may change the trial charter"


def set_charter(db: Database, actor: Actor, charter: Charter, reason: str) -> TrialView:
    """Manager: replace the trial's charter before any read is signed.

    Raises:
        PermissionDenied: not a manager.
        WorkflowError: no reason, the database is locked, a read is already signed, or the new
            visit schedule leaves out a visit that scans were already imported under.
    """
    reason = check_text(reason, "the reason", MAX_REASON)
    if not reason:
        raise WorkflowError("changing the charter needs a reason (it goes into the audit trail)")

    def work(s: Session) -> TrialView:
        manager = require_role(s, actor, ("manager",), _RULE)
        refuse_if_locked(s, "changing the charter")
        trial = current_trial(s)
        signed = s.scalar(select(func.count()).select_from(Read).where(Read.signed_at.is_not(None))) or 0
        if signed:
            raise WorkflowError(f"the charter is fixed once reading has started: {signed} read(s) are already "
                                "signed under the current one")
        if charter.visits:
            used = set(s.scalars(select(Visit.name).join(Subject).join(Scan, Scan.visit_id == Visit.id)
                                 .where(Subject.trial_id == trial.id)))
            missing = sorted(used - set(charter.visits))
            if missing:
                raise WorkflowError(f"the visit schedule must list every visit already imported; missing: "
                                    f"{', '.join(missing)}")
        old = charter_of(trial)
        if old == charter:
            raise WorkflowError("the new charter is the same as the current one; nothing to change")
        trial.charter_json = charter.to_json()
        append_event(s, user_id=manager.id, username=manager.username, action="update", entity="charter",
                     entity_id=trial.id, old=old.to_json(), new=charter.to_json(), reason=reason.strip(),
                     signer=signing_key(actor), state=trial_state(trial))
        return TrialView(trial.id, trial.name, charter)

    return db.write(work)
