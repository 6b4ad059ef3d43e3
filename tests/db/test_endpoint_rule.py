"""The endpoint rule exists once: the per-scan view (``endpoint_table``) and the bulk analysis
dataset (``analysis_dataset``) give every scan the same status, values and source reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

import db
from db.charter import Charter
from db.endpoints.rule import Adjudication, SignedRead, mean_of_reads, resolve
from db.models import AdjudicationTask, ReadTask
from db.services import (
    ReadInput,
    analysis_dataset,
    create_trial,
    decide_adjudication,
    endpoint_table,
    generate_worklist,
    import_manifest,
    sign_read,
    worklist,
)
from tests.support.db_trial import PASSWORD, make_accounts, read_input, write_mini_trial

ACCOUNTS = {"boss": "manager", "r1": "reader", "r2": "reader", "adj": "adjudicator"}


def _trial(tmp_path: Path, charter: Charter):  # type: ignore[no-untyped-def]
    """Six scans: concordant, discordant (adjudicated), discordant (undecided), both not evaluable,
    one not evaluable (adjudication), and one read still unsigned."""
    trial = write_mini_trial(tmp_path / "data", [f"S{i}" for i in range(6)], ["V1"])
    database = db.connect(tmp_path / "rule.sqlite")
    a = make_accounts(database, ACCOUNTS)
    create_trial(database, a["boss"], "rule trial", charter)
    assert import_manifest(database, a["boss"], trial.manifest).ok
    generate_worklist(database, a["boss"], seed=3, readers=["r1", "r2"])

    def values(scan_id: int, slot: int) -> ReadInput:
        if scan_id in (2, 3):
            return read_input(5.0 if slot == 1 else 30.0, 1.0)
        if scan_id == 4:
            return ReadInput(not_evaluable_reason="motion" if slot == 1 else "incomplete coverage")
        if scan_id == 5 and slot == 2:
            return ReadInput(not_evaluable_reason="wrong series")
        return read_input(10.0 + slot, 2.0 * slot, normal=False)

    with database.session() as s:
        tasks = {t.id: t for t in s.scalars(select(ReadTask))}
    for reader in ("r1", "r2"):
        for tv in worklist(database, a[reader]):
            t = tasks[tv.task_id]
            if t.scan_id == 6 and reader == "r2":
                continue  # scan 6 stays pending
            sign_read(database, a[reader], t.id, values(t.scan_id, t.reader_slot), PASSWORD, "I am the author")
    with database.session() as s:
        adj2 = s.scalars(select(AdjudicationTask).where(AdjudicationTask.scan_id == 2)).one()
        assert adj2.adjudicator_id == a["adj"].user_id
    decide_adjudication(database, a["adj"], adj2.id, "A", PASSWORD, "I adjudicated", reason="other", rationale="test")
    return database, a


def _agree(database, manager) -> dict[int, str]:  # type: ignore[no-untyped-def]
    """Compare both paths scan by scan; returns scan id -> status."""
    table = {v.scan_id: v for v in endpoint_table(database, manager)}
    dataset = analysis_dataset(database, manager)
    assert set(dataset.endpoint_status) == set(table)
    by_sources = {}
    for rec in dataset.records:
        by_sources[(rec.subject, rec.visit)] = rec
    statuses = {}
    for scan_id, value in table.items():
        status, sources = dataset.endpoint_status[scan_id]
        rec = by_sources[(value.subject, value.visit)]
        assert status == value.status, scan_id
        assert sources == value.source_read_ids == rec.source_read_ids, scan_id
        assert rec.lesion_pct == value.lesion_pct and rec.solid_pct == value.solid_pct, scan_id
        assert rec.normal_ct == value.normal_ct, scan_id
        expected_reason = f"pending: {value.rule}" if value.status == "pending" else value.missing_reason
        assert rec.missing_reason == expected_reason, scan_id
        statuses[scan_id] = status
    return statuses


@pytest.mark.parametrize("rule", ["mean", "reader1"])
def test_per_scan_view_and_dataset_agree(tmp_path, rule):
    database, a = _trial(tmp_path, Charter(concordant_rule=rule, adjudication_threshold_pct=5.0))
    statuses = _agree(database, a["boss"])
    assert statuses == {1: "concordant", 2: "adjudicated", 3: "pending", 4: "missing", 5: "pending",
                        6: "pending"}
    value = {v.scan_id: v for v in endpoint_table(database, a["boss"])}[1]
    assert value.lesion_pct == pytest.approx(11.5 if rule == "mean" else 11.0)
    database.dispose()


def test_a_damaged_value_is_missing_on_both_paths(tmp_path):
    """A read value that is not a number (text written into the REAL column by hand, as a damaged
    database holds) makes the mean missing on both paths. Before the rule existed once, the
    per-scan view dropped it and the bulk dataset crashed in ``float()``."""
    database, a = _trial(tmp_path, Charter())
    with database.session() as s:
        task = s.scalars(select(ReadTask).where(ReadTask.scan_id == 1, ReadTask.reader_slot == 1)).one()
        s.execute(text("UPDATE reads SET lesion_pct = 'n/a' WHERE task_id = :t"), {"t": task.id})
        s.commit()
    statuses = _agree(database, a["boss"])
    assert statuses[1] == "concordant"
    value = {v.scan_id: v for v in endpoint_table(database, a["boss"])}[1]
    assert value.lesion_pct is None and value.solid_pct == pytest.approx(3.0)
    database.dispose()


def test_mean_needs_a_number_from_every_read():
    assert mean_of_reads([10.0, 13.0]) == pytest.approx(11.5)
    assert mean_of_reads([10.0, None]) is None
    assert mean_of_reads([True, 3.0]) is None  # yes/no is not a number
    assert mean_of_reads(["n/a", 3.0]) is None
    assert mean_of_reads([]) is None


def test_resolve_on_plain_reads():
    charter = Charter()
    r1 = SignedRead(1, 10.0, 1.0, False, None, {"lung_ml": 4000.0, "flag": True})
    r2 = SignedRead(2, 14.0, 3.0, False, None, {"lung_ml": 4200.0, "flag": True})
    res = resolve(charter, [r1, r2], None)
    assert (res.status, res.rule, res.lesion_pct, res.solid_pct) == ("concordant", "mean", 12.0, 2.0)
    assert res.metrics == {"lung_ml": 4100.0}  # yes/no metrics are not averaged
    assert resolve(charter, [r1, None], None).status == "pending"
    assert resolve(charter, [r1], None).status == "pending"  # fewer tasks than readers_per_scan
    assert resolve(charter, [r1, r2], Adjudication("open", None, None)).rule == "adjudication not decided"
    decided = resolve(charter, [r1, r2], Adjudication("decided", "B", r2))
    assert (decided.status, decided.lesion_pct, decided.source_read_ids) == ("adjudicated", 14.0, (2,))
    ne = SignedRead(3, None, None, None, "motion")
    assert resolve(charter, [ne, r2], Adjudication("decided", "A", ne)).missing_reason == "not evaluable: motion"
