"""Account control: a manager unlocks a locked-out account (with a reason, audited), and a live
session of an account that has since been locked out or deactivated is refused by every service."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

import db
from db.models import AuditEvent
from db.services import (
    MAX_FAILED_LOGINS,
    AuthenticationError,
    PermissionDenied,
    WorkflowError,
    authenticate,
    generate_worklist,
    import_manifest,
    save_draft,
    set_account,
    unlock_user,
    worklist,
)
from tests.support.db_trial import PASSWORD, make_accounts, read_input, write_mini_trial


@pytest.fixture()
def trial_db(tmp_path):
    trial = write_mini_trial(tmp_path / "data", ["S1"], ["BASE"])
    database = db.connect(tmp_path / "accounts.sqlite")
    actors = make_accounts(database)
    assert import_manifest(database, actors["boss"], trial.manifest).ok
    generate_worklist(database, actors["boss"], seed=1)
    yield database, actors
    database.dispose()


def test_a_paused_sign_in_keeps_the_live_session_and_a_manager_unlocks_it(trial_db):
    database, a = trial_db
    live = a["r1"]  # signed in before the failures
    (task,) = worklist(database, live)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError):
            authenticate(database, "r1", "wrong password")
    # Somebody guessing r1's password must not be able to end r1's session (that would be a
    # denial of service); the pause only refuses new sign-ins.
    assert worklist(database, live)
    save_draft(database, live, task.task_id, read_input(5.0, 1.0))
    with pytest.raises(AuthenticationError, match="paused"):
        authenticate(database, "r1", PASSWORD)  # even the right password, until the pause ends
    with pytest.raises(PermissionDenied, match="only a manager"):
        unlock_user(database, a["r2"], "r1", "asked nicely")
    with pytest.raises(WorkflowError, match="needs a reason"):
        unlock_user(database, a["boss"], "r1", "  ")
    view = unlock_user(database, a["boss"], "r1", "identity checked by phone, ticket 4711")
    assert not view.locked
    assert authenticate(database, "r1", PASSWORD).user_id == live.user_id
    assert worklist(database, live)  # the old session works again
    with database.session() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "unlock_account")).one()
        assert event.username == "boss" and event.reason == "identity checked by phone, ticket 4711"
        assert json.loads(event.old_json)["failures"] == MAX_FAILED_LOGINS and event.signature


def test_a_deactivated_account_with_a_live_session_is_refused(trial_db):
    database, a = trial_db
    live = a["r1"]
    (task,) = worklist(database, live)
    set_account(database, a["boss"], "r1", "left the reading team", active=False)  # signed, audited
    for call in (lambda: worklist(database, live),
                 lambda: save_draft(database, live, task.task_id, read_input(5.0, 1.0))):
        with pytest.raises(AuthenticationError, match="not an active account"):
            call()
    with pytest.raises(AuthenticationError, match="deactivated"):
        authenticate(database, "r1", PASSWORD)
