"""Charter rules on a tiny trial: the reader-1 rule, not-evaluable pairs, reopening an adjudicated
pair, adjudications with no eligible adjudicator, and the role checks of every service."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import db
from db.charter import Charter
from db.models import AdjudicationTask, ReadTask
from db.services import (
    PermissionDenied,
    ReadInput,
    WorkflowError,
    adjudication_queue,
    assign_adjudicator,
    create_trial,
    decide_adjudication,
    endpoint_value,
    export_reads_csv,
    generate_worklist,
    import_manifest,
    lock_database,
    open_adjudication,
    progress_dashboard,
    reopen_read,
    sign_read,
    unblind,
)
from tests.support.db_trial import PASSWORD, make_accounts, read_input, sign_all, write_mini_trial


def _setup(tmp_path: Path, charter: Charter, accounts: dict[str, str], n_subjects: int = 2):
    trial = write_mini_trial(tmp_path / "data", [f"S{i}" for i in range(n_subjects)], ["V1"])
    database = db.connect(tmp_path / "rules.sqlite")
    actors = make_accounts(database, accounts)
    create_trial(database, actors["boss"], "rules trial", charter)
    assert import_manifest(database, actors["boss"], trial.manifest).ok
    generate_worklist(database, actors["boss"], seed=11)
    return database, actors, trial


ACCOUNTS = {"boss": "manager", "r1": "reader", "r2": "reader", "adj": "adjudicator", "stat": "statistician"}


def test_reader1_rule_and_not_evaluable(tmp_path):
    database, a, _ = _setup(tmp_path, Charter(concordant_rule="reader1", adjudication_threshold_pct=3.0), ACCOUNTS, 3)

    def values(scan_id: int, slot: int) -> ReadInput:
        if scan_id == 3:
            return ReadInput(not_evaluable_reason="incomplete coverage" if slot == 1 else "motion")
        if scan_id == 2 and slot == 2:
            return ReadInput(not_evaluable_reason="wrong series")
        return read_input(10.0 + slot, 2.0 * slot)  # |delta| = 1 < 3: concordant

    t1 = sign_all(database, a["r1"], values)
    t2 = sign_all(database, a["r2"], values)
    by_scan: dict[int, dict[int, int]] = {}
    for t in [*t1.values(), *t2.values()]:
        by_scan.setdefault(t.scan_id, {})[t.reader_slot] = t.id
    ep = endpoint_value(database, 1)
    assert ep.status == "concordant" and ep.rule == "reader1"
    assert ep.lesion_pct == pytest.approx(11.0) and ep.solid_pct == pytest.approx(2.0)
    assert len(ep.source_read_ids) == 1
    both_ne = endpoint_value(database, 3)
    assert both_ne.status == "missing" and both_ne.lesion_pct is None
    assert "incomplete coverage" in both_ne.missing_reason and "motion" in both_ne.missing_reason
    # one read evaluable, one not: adjudication
    pending = endpoint_value(database, 2)
    assert pending.status == "pending"
    with database.session() as s:
        adj = s.scalars(select(AdjudicationTask).where(AdjudicationTask.scan_id == 2)).one()
        assert adj.trigger == "one read is not evaluable and the other is"
    decide_adjudication(database, a["adj"], adj.id, "own", PASSWORD, "I adjudicated",
                        ReadInput(not_evaluable_reason="wrong series confirmed"), reason="image quality",
                        rationale="both series are the wrong one")
    resolved = endpoint_value(database, 2)
    assert resolved.status == "missing" and "wrong series confirmed" in resolved.missing_reason
    # a decided adjudication cannot be undone by reopening one of its reads
    with pytest.raises(WorkflowError, match="adjudicated"):
        reopen_read(database, a["boss"], by_scan[2][1], "second thoughts")
    database.dispose()


def test_unassigned_adjudication_and_reopen_cancels_it(tmp_path):
    # the only adjudicator also reads: nobody is eligible, so the manager must assign one
    accounts = {"boss": "manager", "r1": "reader", "adj": "adjudicator", "adj2": "adjudicator"}
    trial = write_mini_trial(tmp_path / "data", ["S0"], ["V1"])
    database = db.connect(tmp_path / "rules2.sqlite")
    a = make_accounts(database, accounts)
    import_manifest(database, a["boss"], trial.manifest)
    generate_worklist(database, a["boss"], seed=1, readers=["r1", "adj"])
    # adj2 is deactivated for now, so no adjudicator who did not read the scan is available
    from db.models import User

    with database.session() as s:
        s.query(User).filter(User.username == "adj2").update({"active": False})
        s.commit()
    sign_all(database, a["r1"], lambda sid, slot: read_input(5.0, 1.0))
    sign_all(database, a["adj"], lambda sid, slot: read_input(25.0, 1.0))
    with database.session() as s:
        adj_task = s.scalars(select(AdjudicationTask)).one()
        assert adj_task.adjudicator_id is None and adj_task.status == "open"
    dashboard = progress_dashboard(database, a["boss"])
    assert dashboard.unassigned_adjudications == 1
    # one scan, both reads signed, discordant: each reader has 1 of 1 sent to adjudication
    assert dashboard.adjudication_by_reader == {"r1": (1, 1), "adj": (1, 1)}
    assert adjudication_queue(database, a["adj"]) == []
    with pytest.raises(PermissionDenied, match="read this scan"):
        assign_adjudicator(database, a["boss"], adj_task.id, "adj")
    with database.session() as s:
        s.query(User).filter(User.username == "adj2").update({"active": True})
        s.commit()
    with pytest.raises(PermissionDenied, match="only a manager"):
        assign_adjudicator(database, a["r1"], adj_task.id, "adj2")
    assign_adjudicator(database, a["boss"], adj_task.id, "adj2")
    assert [q.adjudication_id for q in adjudication_queue(database, a["adj2"])] == [adj_task.id]
    view = open_adjudication(database, a["adj2"], adj_task.id)
    assert {view.read_a.metrics["lesion_pct"], view.read_b.metrics["lesion_pct"]} == {5.0, 25.0}
    # reopening one read of an open adjudication cancels it; re-signing concordantly closes the case
    with database.session() as s:
        r1_task = s.scalars(select(ReadTask).where(ReadTask.reader_id == a["r1"].user_id)).one()
    reopen_read(database, a["r1"], r1_task.id, "wrong slice range measured")
    with database.session() as s:
        assert s.get(AdjudicationTask, adj_task.id).status == "cancelled"
    with pytest.raises(PermissionDenied):
        open_adjudication(database, a["adj2"], adj_task.id)
    sign_read(database, a["r1"], r1_task.id, read_input(24.0, 1.0), PASSWORD, "I am the author")
    ep = endpoint_value(database, 1)
    assert ep.status == "concordant" and ep.lesion_pct == pytest.approx(24.5)
    database.dispose()


def test_roles_are_checked_in_the_services(tmp_path):
    database, a, trial = _setup(tmp_path, Charter(), ACCOUNTS)
    with pytest.raises(PermissionDenied, match="only a manager may see reading progress"):
        progress_dashboard(database, a["r1"])
    with pytest.raises(PermissionDenied, match="only a manager or statistician may export"):
        export_reads_csv(database, a["r2"], tmp_path / "x.csv")
    with pytest.raises(PermissionDenied, match="only adjudicators"):
        adjudication_queue(database, a["r1"])
    with pytest.raises(PermissionDenied, match="only a statistician may unblind"):
        unblind(database, a["adj"], trial.randomization)
    with pytest.raises(WorkflowError, match="already holds a trial"):
        create_trial(database, a["boss"], "second")
    with pytest.raises(WorkflowError, match="override"):
        lock_database(database, a["boss"], override_reason="   ")
    lock_database(database, a["boss"], override_reason="sponsor decision")
    # after the lock nothing may be signed either
    with database.session() as s:
        t = s.scalars(select(ReadTask).where(ReadTask.reader_id == a["r1"].user_id)).first()
    with pytest.raises(WorkflowError, match="locked"):
        sign_read(database, a["r1"], t.id, read_input(1.0, 1.0), PASSWORD, "I am the author")
    database.dispose()


@pytest.mark.parametrize(("a", "b", "adjudicate"), [
    (10.3, 5.3, False), (12.7, 7.7, False), (5.3, 10.3, False),  # exactly the 5-point threshold
    (10.31, 5.3, True), (10.304, 5.3, False), (10.306, 5.3, True),  # compared at 0.01 points
])
def test_adjudication_threshold_is_compared_at_the_charters_precision(a, b, adjudicate):
    from db.charter import Charter
    from db.models import Read
    from db.workflow.adjudication import discordance

    reads = [Read(lesion_pct=v, normal_ct=False, not_evaluable_reason=None) for v in (a, b)]
    if (a, b) == (10.3, 5.3):
        assert abs(a - b) > 5.0  # in floating point the difference really lies above the threshold
    assert (discordance(Charter(adjudication_threshold_pct=5.0), *reads) is not None) == adjudicate
