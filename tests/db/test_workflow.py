"""A whole blinded two-reader trial through the db services, on SQLite and on a real PostgreSQL.

Import -> worklist -> two independent signed reads (one reader's metrics perturbed) -> adjudication
of the discordant pairs -> lock -> unblind, asserting each rule and each forbidden path.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

import db
from db.models import AdjudicationTask, AuditEvent, LoginThrottle, Randomization, Read, ReadTask, Scan, Trial
from db.services import (
    AuthenticationError,
    PermissionDenied,
    ReadInput,
    WorkflowError,
    adjudication_queue,
    assign_adjudicator,
    authenticate,
    create_user,
    decide_adjudication,
    endpoint_table,
    endpoint_value,
    export_reads_csv,
    generate_worklist,
    import_manifest,
    lock_database,
    next_task,
    open_adjudication,
    open_task,
    progress_dashboard,
    reopen_read,
    save_draft,
    set_image_store,
    sign_read,
    trust_root,
    unblind,
    verify_audit_trail,
    verify_trust,
    worklist,
)
from tests.support.db_trial import PASSWORD, make_accounts, read_input
from tests.support.postgres_server import postgres_server, postgres_url  # noqa: F401  (fixtures)

MEANING = "I am the author of this read"


def _trial_files(tmp_path: Path):
    """A small phantom trial (quant.phantom.make_trial): 2 subjects x 4 visits = 8 scans."""
    from quant.phantom import make_trial

    return make_trial(tmp_path / "trial", subjects=2, visits=("BASELINE", "DAY10", "DAY28", "MONTH3"), seed=3,
                      size="small")


_SEGMENTATIONS: dict[str, object] = {}


def _segmentation(key: str, series_files):  # type: ignore[no-untyped-def]
    """Automatic segmentation of the series a reader opened, loaded through the blinded links
    (once per scan: both readers, and the SQLite and PostgreSQL runs, start from the same result)."""
    from quant.dicom.load import load_series
    from quant.segment.pipeline import segment

    if key not in _SEGMENTATIONS:
        _SEGMENTATIONS[key] = segment(load_series(list(series_files)))
    return _SEGMENTATIONS[key]


def _all_text(database: db.Database) -> str:
    """Every value of every table, as one string (to prove something is stored nowhere)."""
    chunks = []
    with database.engine.connect() as conn:
        for table in sa_inspect(conn).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                chunks.extend(str(v) for v in row if not isinstance(v, (bytes, memoryview)))
    return "\n".join(chunks)


def run_workflow(database: db.Database, manifest: Path, randomization: Path, arm_names: tuple[str, ...],
                 export_dir: Path) -> None:
    actors = make_accounts(database)
    boss, r1, r2, adj_a, adj_b, stat = (actors[n] for n in ("boss", "r1", "r2", "adj_a", "adj_b", "stat"))

    # --- import: manager only, every row checked, idempotent ------------------------------------
    with pytest.raises(PermissionDenied, match="only a manager"):
        import_manifest(database, r1, manifest)
    report = import_manifest(database, boss, manifest)
    assert report.ok, report.errors
    n_scans = report.created
    assert n_scans == report.n_rows >= 8
    again = import_manifest(database, boss, manifest)
    assert again.ok and again.created == 0 and again.unchanged == n_scans

    # --- worklist: two distinct readers per scan, shuffled per reader with a stored seed -------
    with pytest.raises(PermissionDenied):
        generate_worklist(database, r1, seed=5)
    wl = generate_worklist(database, boss, seed=42, readers=["r1", "r2", "adj_a"])
    assert wl.n_tasks == 2 * n_scans and wl.seed == 42
    with database.session() as s:
        assert s.scalar(select(Trial.worklist_seed)) == 42
        tasks = list(s.scalars(select(ReadTask)))
        scan_ids = sorted(s.scalars(select(Scan.id)))
        folder_of = dict(s.execute(select(Scan.id, Scan.folder)).all())
    per_scan: dict[int, list[ReadTask]] = {}
    for t in tasks:
        per_scan.setdefault(t.scan_id, []).append(t)
    for sid in scan_ids:
        pair = per_scan[sid]
        assert len(pair) == 2 and pair[0].reader_id != pair[1].reader_id
        assert sorted(t.reader_slot for t in pair) == [1, 2]
    for actor in (r1, r2, adj_a):
        mine = worklist(database, actor)
        assert [t.order_index for t in mine] == list(range(len(mine)))
        assert len({t.case_code for t in mine}) == len(mine)
    # forbidden: a reader assigned twice to the same scan (the schema refuses it too)
    with pytest.raises(WorkflowError, match="already has its readers"):
        generate_worklist(database, boss, seed=1)
    with database.session() as s, pytest.raises(IntegrityError):
        t0 = tasks[0]
        s.add(ReadTask(scan_id=t0.scan_id, reader_id=t0.reader_id, reader_slot=2, case_code="DUP-0000",
                       order_index=99, status="new", created_at="x"))
        s.commit()

    # --- plan the reads: perturb reader 2 on some scans --------------------------------------
    adj_a_scans = [t.scan_id for t in tasks if t.reader_id == adj_a.user_id]
    plan: dict[int, str] = {}
    for i, sid in enumerate(scan_ids):
        plan[sid] = ("concordant", "lesion", "normal", "concordant")[i % 4]
    plan[adj_a_scans[0]] = "lesion"  # make sure adj_a read at least one discordant scan
    ne_scan = next(sid for sid in scan_ids if plan[sid] == "concordant" and sid not in adj_a_scans[:1])
    plan[ne_scan] = "not_evaluable"

    def read_for(task: ReadTask, case) -> ReadInput:  # type: ignore[no-untyped-def]
        kind = plan[task.scan_id]
        if kind == "not_evaluable":
            return ReadInput(not_evaluable_reason="motion artefact")
        seg = _segmentation(folder_of[task.scan_id], case.series_files)
        from quant.segment.qc import to_metrics

        metrics = dict(seg.metrics.as_dict(), **to_metrics(seg.qc))
        normal = bool(metrics.pop("suggested_normal"))
        if task.reader_slot == 2:  # the second reader's corrections move the numbers
            if kind == "lesion":
                metrics["lesion_pct"] = min(100.0, metrics["lesion_pct"] + 8.0)
            elif kind == "normal":
                normal = not normal
            else:
                metrics["lesion_pct"] = metrics["lesion_pct"] + 1.0
        return ReadInput(metrics=metrics, normal_ct=normal, confidence=4, comment="",
                         lung_labels=seg.lungs.labels, lesion_labels=seg.lesions.labels,
                         algorithm_version=seg.algorithm_version, protocol_hash=seg.protocol_hash)

    # forbidden: a reader opens another reader's task
    r2_task = next(t for t in tasks if t.reader_id == r2.user_id)
    with pytest.raises(PermissionDenied, match="not on your worklist"):
        open_task(database, r1, r2_task.id)
    with pytest.raises(PermissionDenied):
        save_draft(database, r1, r2_task.id, read_input(1, 1))

    # --- each reader works through their own shuffled list ----------------------------------
    by_id = {t.id: t for t in tasks}
    first = True
    for actor in (r1, r2, adj_a):
        while (task_view := next_task(database, actor)) is not None:
            task = by_id[task_view.task_id]
            case = open_task(database, actor, task.id)
            assert case.case_code == task_view.case_code and case.draft is None
            assert len(case.series_files) == case.display["n_slices"] and all(p.exists() for p in case.series_files)
            read = read_for(task, case)
            check = first and read.lung_labels is not None  # the detailed checks on one evaluable read
            rev1 = save_draft(database, actor, task.id, read)
            rev2 = save_draft(database, actor, task.id, read)
            assert (rev1, rev2) == (1, 2)
            if check:
                # the autosaved masks come back bit-exact
                reopened = open_task(database, actor, task.id)
                assert reopened.draft is not None and reopened.draft.revision == 2
                assert np.array_equal(reopened.draft.lung_labels, read.lung_labels)
                assert np.array_equal(reopened.draft.lesion_labels, read.lesion_labels)
                assert reopened.draft.algorithm_version == read.algorithm_version
                assert reopened.draft.metrics["lesion_pct"] == pytest.approx(read.metrics["lesion_pct"])
                # forbidden: signing with a wrong password
                with pytest.raises(AuthenticationError, match="wrong password"):
                    sign_read(database, actor, task.id, read, "not-my-password", MEANING)
                with database.session() as s:
                    assert s.get(ReadTask, task.id).status == "draft"
                    assert s.get(LoginThrottle, actor.username).failures == 1
            sig = sign_read(database, actor, task.id, read, PASSWORD, MEANING)
            assert sig.signer == actor.username and sig.meaning == MEANING and sig.signed_at.endswith("+00:00")
            assert sig.revision == 3
            if check:
                # forbidden: an edit after signing
                with pytest.raises(WorkflowError, match="is signed"):
                    save_draft(database, actor, task.id, read)
                with pytest.raises(WorkflowError, match="is signed"):
                    sign_read(database, actor, task.id, read, PASSWORD, MEANING)
                with pytest.raises(PermissionDenied):
                    reopen_read(database, r2 if actor != r2 else r1, task.id, "not mine")
                reopened_task = reopen_read(database, actor, task.id, "typo in the confidence")
                assert reopened_task.status == "draft"
                sig = sign_read(database, actor, task.id, read, PASSWORD, MEANING)
                assert sig.revision == 4
                first = False
    with database.session() as s:
        assert s.get(LoginThrottle, r1.username) is None  # reset by success
        reopen_ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "reopen")).one()
        assert reopen_ev.reason == "typo in the confidence"

    # --- adjudication of exactly the discordant pairs, by someone who did not read the scan ---
    expected = {sid for sid, k in plan.items() if k in ("lesion", "normal")}
    with database.session() as s:
        adjs = list(s.scalars(select(AdjudicationTask)))
        readers_of = {sid: {t.reader_id for t in pair} for sid, pair in per_scan.items()}
        assert {a.scan_id for a in adjs} == expected
        for a in adjs:
            assert a.adjudicator_id is not None and a.adjudicator_id not in readers_of[a.scan_id]
            assert a.status == "open"
    adj_on_a_scan = next(a for a in adjs if adj_a.user_id in readers_of[a.scan_id])
    # forbidden: an adjudicator who read that scan
    with pytest.raises(PermissionDenied, match="read this scan"):
        assign_adjudicator(database, boss, adj_on_a_scan.id, "adj_a")
    with pytest.raises(PermissionDenied):
        open_adjudication(database, adj_a, adj_on_a_scan.id)

    # lock refused while work is open; unblind refused before the lock
    with pytest.raises(PermissionDenied, match="only a manager may lock"):
        lock_database(database, r1)
    with pytest.raises(WorkflowError, match="not done"):
        lock_database(database, boss)
    with pytest.raises(PermissionDenied, match="only a statistician may unblind"):
        unblind(database, boss, randomization)
    with pytest.raises(WorkflowError, match="not locked yet"):
        unblind(database, stat, randomization)

    choices = ["A", "B", "own"]
    decided: dict[int, tuple[str, int]] = {}
    for actor in (adj_a, adj_b):
        for i, item in enumerate(adjudication_queue(database, actor)):
            view = open_adjudication(database, actor, item.adjudication_id)
            assert (view.read_a.label, view.read_b.label) == ("Read A", "Read B")
            again_view = open_adjudication(database, actor, item.adjudication_id)
            assert again_view.read_a.metrics == view.read_a.metrics  # stored order, not re-drawn
            choice = choices[(len(decided)) % 3]
            own = read_input(33.0, 3.0, normal=False) if choice == "own" else None
            with pytest.raises(AuthenticationError):
                decide_adjudication(database, actor, item.adjudication_id, choice, "bad-password", "I adjudicated", own,
                                    reason="lesion extent", rationale="test")
            with pytest.raises(WorkflowError, match="needs its reason"):
                decide_adjudication(database, actor, item.adjudication_id, choice, PASSWORD, "I adjudicated", own,
                                    reason="gut feeling", rationale="test")
            with pytest.raises(WorkflowError, match="needs a rationale"):
                decide_adjudication(database, actor, item.adjudication_id, choice, PASSWORD, "I adjudicated", own,
                                    reason="lesion extent", rationale="  ")
            decide_adjudication(database, actor, item.adjudication_id, choice, PASSWORD, "I adjudicated this case", own,
                                reason="lesion extent", rationale="read B missed the left lower lobe GGO")
            decided[item.adjudication_id] = (choice, actor.user_id)
    assert len(decided) == len(expected)
    with database.session() as s:  # the rationale is kept with each decision and in the audit trail
        assert {(a.rationale_reason, a.rationale) for a in s.scalars(select(AdjudicationTask))} == {
            ("lesion extent", "read B missed the left lower lobe GGO")}
        signs = [json.loads(e.new_json) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.entity == "adjudication", AuditEvent.action == "sign"))]
        assert len(signs) == len(decided) and all(e["reason"] == "lesion extent" for e in signs)

    # --- endpoints under the charter, traced to their reads -----------------------------------
    with database.session() as s:
        adjs = {a.scan_id: a for a in s.scalars(select(AdjudicationTask))}
        signed = {}
        for r in s.scalars(select(Read).where(Read.status == "signed", Read.task_id.is_not(None))):
            signed[r.task_id] = r
    for sid in scan_ids:
        ep = endpoint_value(database, sid)
        pair_reads = [signed[t.id] for t in sorted(per_scan[sid], key=lambda t: t.reader_slot)]
        if sid in adjs:
            a = adjs[sid]
            assert ep.status == "adjudicated" and ep.source_read_ids == (a.chosen_read_id,)
            if a.choice == "own":
                assert ep.lesion_pct == pytest.approx(33.0)
            else:
                chosen = a.read_a_id if a.choice == "A" else a.read_b_id
                assert a.chosen_read_id == chosen
                assert ep.lesion_pct == pytest.approx(next(r.lesion_pct for r in pair_reads if r.id == chosen))
        elif plan[sid] == "not_evaluable":
            assert ep.status == "missing" and ep.lesion_pct is None and "motion artefact" in ep.missing_reason
            assert set(ep.source_read_ids) == {r.id for r in pair_reads}
        else:
            assert ep.status == "concordant" and ep.rule == "mean"
            assert ep.lesion_pct == pytest.approx((pair_reads[0].lesion_pct + pair_reads[1].lesion_pct) / 2)
            assert set(ep.source_read_ids) == {r.id for r in pair_reads}

    dash = progress_dashboard(database, boss)
    assert dash.tasks_by_status == {"signed": 2 * n_scans} and not dash.locked

    # --- blinding by construction: no arm anywhere before unblinding --------------------------
    with database.session() as s:
        assert s.scalar(select(Randomization.id).limit(1)) is None
    everything = _all_text(database)
    for arm in arm_names:
        assert arm not in everything

    # --- lock, then nothing can be edited --------------------------------------------------------
    lock = lock_database(database, boss)
    assert lock.open_tasks == 0 and lock.locked_by == "boss"
    with pytest.raises(WorkflowError, match="already locked"):
        lock_database(database, boss)
    any_task = tasks[0]
    owner = next(a for a in (r1, r2, adj_a) if a.user_id == any_task.reader_id)
    with pytest.raises(WorkflowError, match="locked"):
        save_draft(database, owner, any_task.id, read_input(1, 1))
    with pytest.raises(WorkflowError, match="locked"):
        reopen_read(database, boss, any_task.id, "late change")
    with pytest.raises(WorkflowError, match="locked"):
        import_manifest(database, boss, manifest)

    # --- unblind: statistician, once, audited ---------------------------------------------------
    rep = unblind(database, stat, randomization)
    with open(manifest, newline="") as fh:
        n_subjects = len({r["subject"] for r in csv.DictReader(fh)})
    assert rep.n_subjects == n_subjects and sum(rep.arms.values()) == n_subjects
    with database.session() as s:
        assert len(list(s.scalars(select(Randomization.id)))) == n_subjects
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "unblind")).one().username == "stat"
    with pytest.raises(WorkflowError, match="already unblinded"):
        unblind(database, stat, randomization)
    table = endpoint_table(database, stat)
    assert all(v.arm in arm_names for v in table)

    out = export_reads_csv(database, stat, export_dir / "reads.csv")
    with open(out, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["status"] == "signed"]  # drafts are exported too
    n_own = sum(1 for c, _ in decided.values() if c == "own")
    assert len(rows) == 2 * n_scans + n_own
    assert all(r["arm"] in arm_names for r in rows)
    # the automatic result's QC flags travel with every evaluable reader's read (3 mm phantom)
    evaluable = [r for r in rows if not r["not_evaluable_reason"] and r["read_kind"].startswith("reader")]
    assert evaluable and all("thick_slices" in r["qc_flags"].split(";") for r in evaluable), [(r["read_kind"], r["qc_flags"], r["comment"]) for r in evaluable if "thick_slices" not in r["qc_flags"]]
    assert (export_dir / "reads.dictionary.csv").exists()
    assert "qc_flags" in (export_dir / "reads.dictionary.csv").read_text()

    # --- login lockout after 5 failures ----------------------------------------------------------
    create_user(database, boss, "spare", "reader", PASSWORD)
    for _ in range(4):
        with pytest.raises(AuthenticationError, match="attempts left"):
            authenticate(database, "spare", "nope-nope")
    with pytest.raises(AuthenticationError, match="now locked"):
        authenticate(database, "spare", "nope-nope")
    with pytest.raises(AuthenticationError, match="paused"):
        authenticate(database, "spare", PASSWORD)

    # --- the audit trail covers it all and verifies ----------------------------------------------
    with database.session() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"create", "login", "login_failed", "save_draft", "sign", "reopen", "lock",
            "unblind", "open"} <= actions
    result = verify_audit_trail(database)
    assert result.ok, result.describe()
    trusted = verify_trust(database, trust_root(database))  # every signature and signed row
    assert trusted.ok, trusted.describe()


def _arms(randomization: Path) -> tuple[str, ...]:
    with open(randomization, newline="") as fh:
        return tuple(sorted({r["arm"] for r in csv.DictReader(fh)}))


@pytest.fixture(scope="module")
def phantom_trial(tmp_path_factory):
    return _trial_files(tmp_path_factory.mktemp("phantom_trial"))


@pytest.mark.slow
def test_workflow_sqlite(phantom_trial, tmp_path):
    database = db.connect(tmp_path / "trial.sqlite")
    try:
        run_workflow(database, phantom_trial.manifest, phantom_trial.randomization, _arms(phantom_trial.randomization),
                     tmp_path)
    finally:
        database.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_workflow_postgresql(phantom_trial, postgres_url, tmp_path):
    database = db.connect(postgres_url)
    assert database.dialect == "postgresql"
    from db.workflow.image_store import store_root

    with pytest.raises(WorkflowError, match="no image store"):  # a server database needs a shared folder
        database.read(store_root)
    set_image_store(database, tmp_path / "image-store")
    assert database.read(store_root) == (tmp_path / "image-store").resolve()
    try:
        run_workflow(database, phantom_trial.manifest, phantom_trial.randomization, _arms(phantom_trial.randomization),
                     tmp_path)
    finally:
        database.dispose()
