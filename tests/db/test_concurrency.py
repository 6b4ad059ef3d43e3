"""Durability and concurrency of the store, on SQLite and on PostgreSQL.

* Two processes write into one database at once (300 draft revisions + 50 signed reads each):
  nothing is lost and no "database is locked" or serialization error reaches the caller.
* A writer is SIGKILLed in the middle of saves, 20 times: the database stays sound (SQLite:
  ``PRAGMA integrity_check``) and every read it committed is there, bit-exact (metrics and masks);
  what was committed is read from the database, not from the killed writer's reports.
* Two processes autosave the *same* task at once (one reader signed in at two workstations), on
  SQLite and on PostgreSQL: every save is stored, revisions numbered 1..n without a gap, no error.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import select as io_select
import signal
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

import db
from db.models import Read, ReadTask
from tests.support.db_trial import PASSWORD, make_accounts, read_input, seed_tasks
from tests.support.postgres_server import postgres_server, postgres_url  # noqa: F401  (fixtures)

N_DRAFTS = 300
N_SIGNED = 50


def _writer(url: str, username: str, task_ids: list[int], start, result_queue) -> None:  # type: ignore[no-untyped-def]
    from db.services import authenticate, save_draft, sign_read

    try:
        database = db.connect(url)
        actor = authenticate(database, username, PASSWORD)
        start.wait()
        per_task = N_DRAFTS // len(task_ids)
        for k, task_id in enumerate(task_ids):
            for j in range(per_task):
                save_draft(database, actor, task_id, read_input(k + j / 100, 1.0))
            sign_read(database, actor, task_id, read_input(k, 1.0), PASSWORD, "I am the author")
        result_queue.put((username, "ok", database.retries))
    except BaseException:  # report everything, including a leaked "database is locked"
        result_queue.put((username, "error", traceback.format_exc()))


def _run_together(target, arg_lists: list[tuple]) -> list:  # type: ignore[no-untyped-def, type-arg]
    """Start one spawned process per argument tuple (``target(*args, start, results)``), release
    them together, and return what each put on the results queue."""
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, start, results)) for args in arg_lists]
    for p in procs:
        p.start()
    time.sleep(0.5)
    start.set()
    outcomes = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return outcomes


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest, name: str) -> str:
    return str(tmp_path / f"{name}.sqlite") if backend == "sqlite" else request.getfixturevalue("postgres_url")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_write_concurrently_without_loss(tmp_path: Path, request, backend):
    url = _url(backend, tmp_path, request, "concurrent")
    database = db.connect(url)
    make_accounts(database, {"boss": "manager", "r1": "reader", "r2": "reader"})
    tasks = seed_tasks(database, ["r1", "r2"], N_SIGNED)
    database.dispose()
    outcomes = _run_together(_writer, [(url, name, tasks[name]) for name in ("r1", "r2")])
    for name, status, detail in outcomes:
        assert status == "ok", f"{name}: {detail}"
    database = db.connect(url)
    with database.session() as s:
        for name in ("r1", "r2"):
            ids = tasks[name]
            n_draft = s.scalar(select(func.count(Read.id)).where(Read.task_id.in_(ids), Read.status == "draft"))
            n_signed = s.scalar(select(func.count(Read.id)).where(Read.task_id.in_(ids), Read.status == "signed"))
            assert (n_draft, n_signed) == (N_DRAFTS, N_SIGNED)
            per_task = N_DRAFTS // N_SIGNED
            for task_id in ids:
                revs = list(s.scalars(select(Read.revision).where(Read.task_id == task_id).order_by(Read.revision)))
                assert revs == list(range(1, per_task + 2))
            assert set(s.scalars(select(ReadTask.status).where(ReadTask.id.in_(ids)))) == {"signed"}
    from db.services import verify_audit_trail

    assert verify_audit_trail(database).ok
    database.dispose()


def _killable_writer(url: str, task_ids: list[int], fd: int) -> None:
    """Save and sign forever; after each commit write one line 'task rev signed seed' to ``fd``."""
    from db.services import authenticate, save_draft, sign_read

    database = db.connect(url)
    actor = authenticate(database, "r1", PASSWORD)
    for task_id in task_ids:
        for rev_i in range(3):
            seed = task_id * 10 + rev_i
            read = read_input(seed % 97 + 0.5, 1.0, shape=(24, 64, 64), seed=seed)
            if rev_i < 2:
                rev = save_draft(database, actor, task_id, read)
                os.write(fd, f"{task_id} {rev} 0 {seed}\n".encode())
            else:
                sig = sign_read(database, actor, task_id, read, PASSWORD, "I am the author")
                os.write(fd, f"{task_id} {sig.revision} 1 {seed}\n".encode())
    os._exit(0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_mid_save_never_corrupts_or_loses_commits(tmp_path: Path, request, backend):
    from db.workflow.read_store import load_mask

    url = _url(backend, tmp_path, request, "kill")
    database = db.connect(url)
    make_accounts(database, {"boss": "manager", "r1": "reader"})
    all_tasks = seed_tasks(database, ["r1"], 400)["r1"]
    database.dispose()
    ctx = mp.get_context("fork")  # parent already imported everything: a cheap, fast child
    committed: list[tuple[int, int, int, int]] = []
    rng = random.Random(0)
    next_task = 0
    for attempt in range(20):
        read_fd, write_fd = os.pipe()
        child = ctx.Process(target=_killable_writer, args=(url, all_tasks[next_task:], write_fd))
        child.start()
        os.close(write_fd)
        buf = b""
        wait_for = rng.randint(1, 4)
        deadline = time.monotonic() + 60
        while buf.count(b"\n") < wait_for and child.is_alive():
            ready, _, _ = io_select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(child.pid, signal.SIGKILL)
                pytest.fail("the writer made no progress for 60 s")
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            buf += chunk
        time.sleep(rng.uniform(0.0, 0.08))  # land the kill at a random point of the next save
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode in (0, -signal.SIGKILL), f"the writer failed (exit code {child.exitcode})"
        while chunk := os.read(read_fd, 4096):
            buf += chunk
        os.close(read_fd)
        lines = [tuple(int(x) for x in line.split()) for line in buf.decode().splitlines()]
        committed.extend(lines)  # type: ignore[arg-type]
        database = db.connect(url)
        # The next writer starts on a task the killed one did not sign. Ask the database, not the
        # pipe: a kill between the commit and the pipe write leaves a signed task unreported.
        with database.session() as s:
            signed_tasks = set(s.scalars(select(ReadTask.id).where(ReadTask.status == "signed")))
        assert {t for t, _, signed, _ in committed if signed} <= signed_tasks
        while all_tasks[next_task] in signed_tasks:
            next_task += 1
        if backend == "sqlite":
            with database.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        with database.session() as s:
            for task_id, rev, signed, seed in committed:
                row = s.scalars(select(Read).where(Read.task_id == task_id, Read.revision == rev)).one()
                expected = read_input(seed % 97 + 0.5, 1.0, shape=(24, 64, 64), seed=seed)
                assert row.lesion_pct == pytest.approx(seed % 97 + 0.5)
                assert (row.status == "signed") == bool(signed)
                if (task_id + rev + attempt) % 5 == 0:  # decode a sample of masks: checksum + exact content
                    assert np.array_equal(load_mask(s, row.lung_mask_sha), expected.lung_labels)
                    assert np.array_equal(load_mask(s, row.lesion_mask_sha), expected.lesion_labels)
        from db.services import verify_audit_trail

        assert verify_audit_trail(database).ok
        database.dispose()
    assert len(committed) >= 20


N_SAME_TASK = 60  # drafts per process


def _same_task_writer(url: str, task_id: int, start, result_queue) -> None:  # type: ignore[no-untyped-def]
    from db.services import authenticate, save_draft

    try:
        database = db.connect(url)
        actor = authenticate(database, "r1", PASSWORD)
        start.wait()
        revisions = [save_draft(database, actor, task_id, read_input(1.0 + j / 100, 1.0)) for j in range(N_SAME_TASK)]
        result_queue.put(("ok", revisions))
    except BaseException:
        result_queue.put(("error", traceback.format_exc()))


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_autosaving_one_task_lose_nothing(tmp_path: Path, request, backend):
    url = str(tmp_path / "same.sqlite") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    database = db.connect(url)
    make_accounts(database, {"boss": "manager", "r1": "reader"})
    (task_id,) = seed_tasks(database, ["r1"], 1)["r1"]
    database.dispose()
    outcomes = _run_together(_same_task_writer, [(url, task_id)] * 2)
    for status, detail in outcomes:
        assert status == "ok", detail  # no UniqueViolation (or anything else) reached the caller
    returned = sorted(r for _, revs in outcomes for r in revs)
    assert returned == list(range(1, 2 * N_SAME_TASK + 1))  # every save got its own revision
    database = db.connect(url)
    with database.session() as s:
        stored = list(s.scalars(select(Read.revision).where(Read.task_id == task_id).order_by(Read.revision)))
    assert stored == returned
    database.dispose()
