"""``lungread stats`` benchmark: 100 subjects x 7 visits x 2 readers, no mask export.

Goal: ``lungread stats`` <= 2 s. The database is built quickly *without images*: accounts, worklist,
lock and unblinding go through the services; subjects/visits/scans and the signed reads (metrics
only, no masks) are bulk-inserted with the ORM (a scan import needs DICOM files, and 1400 e-signatures
would spend ~1400 scrypt password checks, neither of which is what is measured). Reads follow the
phantom trial's planted trajectories (:func:`quant.phantom.trial.lesion_trajectory`) plus reader
noise; about 8% of pairs get a large disagreement and go through the charter's adjudication trigger
(:func:`db.workflow.adjudication.on_read_signed`), decided for read A.

Timed (median of ``--repeats``, default 3): ``lungread stats`` as a subprocess (``python -m
desktop.cli.main``: what a user runs; interpreter start, imports and exit included) and in-process
(``desktop.cli.main.main``: this process's imports warm after the first run, but every run starts a
new report forkserver, which imports matplotlib again), each with the full report (PDF + PNG),
with PNG figures only (``--no-report``) and with tables only (``--no-report --no-figures``).

Run: ``.venv/bin/python benchmarks/stats.py [--repeats N] [--subjects N]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark-pass"


def build(path: Path, subjects: int, seed: int = 0) -> tuple[str, Path]:
    """Build the locked, unblinded database; returns (URL, randomization.csv path)."""
    # Imported here, not at module level: the report pool's forkserver imports this script as
    # the main module, and would otherwise import the whole database layer too.
    import numpy as np

    import db
    from db.charter import Charter
    from db.models import AdjudicationTask, Read, ReadTask, Scan, Subject, Trial, Visit
    from db.security.audit import utc_now
    from db.services import authenticate, create_user, generate_worklist, lock_database, unblind
    from db.workflow.adjudication import on_read_signed
    from quant.phantom.trial import DEFAULT_VISITS, VISIT_DAYS, lesion_trajectory, plan_trial

    database = db.connect(path)
    create_user(database, None, "manager", "manager", PASSWORD)
    manager = authenticate(database, "manager", PASSWORD)
    for name, role in (("reader1", "reader"), ("reader2", "reader"), ("adjudicator", "adjudicator"),
                       ("stat", "statistician")):
        create_user(database, manager, name, role, PASSWORD)
    plans = plan_trial(subjects, seed)
    rng = np.random.default_rng(seed)
    now = utc_now()
    with database.session() as s:
        trial = Trial(name="BENCH", charter_json=Charter(visits=DEFAULT_VISITS).to_json(), created_at=now)
        s.add(trial)
        s.flush()
        for plan in plans:
            subject = Subject(trial_id=trial.id, code=plan.code)
            s.add(subject)
            s.flush()
            for name in DEFAULT_VISITS:
                visit = Visit(subject_id=subject.id, name=name, visit_day=VISIT_DAYS[name])
                s.add(visit)
                s.flush()
                s.add(Scan(visit_id=visit.id, series_uid=f"1.2.3.{visit.id}", folder="/nonexistent",
                           content_hash="0" * 64, image_key=f"{visit.id:024d}", files_json="[]",
                           display_json="{}", created_at=now))
        s.commit()
    generate_worklist(database, manager, seed=seed)
    truth: dict[int, tuple[float, float]] = {}
    with database.session() as s:
        for scan_id, code, vname in s.execute(
            Scan.__table__.join(Visit.__table__, Scan.visit_id == Visit.id)
            .join(Subject.__table__, Visit.subject_id == Subject.id)
            .select().with_only_columns(Scan.id, Subject.code, Visit.name)
        ):
            plan = plans[int(code[1:]) - 1]
            pct = lesion_trajectory(plan, VISIT_DAYS[vname])
            truth[scan_id] = (pct, pct * plan.solid_share)
        discordant = {sid for sid in truth if rng.random() < 0.08}
        for task in s.query(ReadTask).order_by(ReadTask.id):
            les, sol = truth[task.scan_id]
            noise = 6.0 if task.scan_id in discordant and task.reader_slot == 2 else 0.4
            lesion = float(np.clip(les + rng.normal(0, noise), 0, 100))
            solid = float(np.clip(sol + rng.normal(0, 0.2), 0, lesion))
            metrics = {"lesion_pct": lesion, "solid_pct": solid, "lung_ml": 4000.0, "lesion_ml": 40.0 * lesion}
            s.add(Read(task_id=task.id, scan_id=task.scan_id, author_id=task.reader_id, revision=1, status="signed",
                       metrics_json=json.dumps(metrics, sort_keys=True), lesion_pct=lesion, solid_pct=solid,
                       normal_ct=lesion < 0.5, confidence=4, comment="", saved_at=now, signed_by=task.reader_id,
                       signed_at=now, sign_meaning="I am the author of this read", algorithm_version="bench",
                       protocol_hash="0" * 64))
            task.status = "signed"
        s.flush()
        for scan_id in truth:
            on_read_signed(s, scan_id)
        for adj in s.query(AdjudicationTask):
            adj.status, adj.choice, adj.chosen_read_id = "decided", "A", adj.read_a_id
            adj.signed_at, adj.sign_meaning = now, "I adjudicated this case"
        s.commit()
    lock_database(database, manager)
    rand = path.with_name("randomization.csv")
    rand.write_text("subject,arm\n" + "".join(f"{p.code},{p.arm}\n" for p in plans), encoding="utf-8")
    unblind(database, authenticate(database, "stat", PASSWORD), rand)
    with database.session() as s:
        n_reads = s.query(Read).count()
        n_adj = s.query(AdjudicationTask).count()
    database.dispose()
    print(f"database: {subjects} subjects x {len(DEFAULT_VISITS)} visits = {len(truth)} scans, {n_reads} signed "
          f"reads, {n_adj} adjudicated pairs; locked and unblinded")
    return f"sqlite:///{path}", rand


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_in_process(url: str, out: Path, extra: list[str], repeats: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of this process) per run."""
    from desktop.cli.main import main

    times, cpu = [], []
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            rc = main(["stats", "--db", url, "--out", str(out / f"inproc{i}"), "--user", "stat", *extra])
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert rc == 0
    return times, cpu


def _machine_cpu() -> float:
    """CPU seconds (user + nice + system) of all cores so far, from /proc/stat; 0 elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:4]]
    except OSError:
        return 0.0
    return sum(fields) / os.sysconf("SC_CLK_TCK")


def time_subprocess(url: str, out: Path, extra: list[str],
                    repeats: int) -> tuple[list[float], list[float], list[float]]:
    """(wall seconds, CPU seconds of the command's process, CPU seconds of the whole machine:
    the command, its report forkserver and workers, and anything else running) per run."""
    times, cpu, machine = [], [], []
    for i in range(repeats):
        t0, c0, m0 = time.perf_counter(), _children_cpu(), _machine_cpu()
        proc = subprocess.run([sys.executable, "-m", "desktop.cli.main", "stats", "--db", url, "--out",
                               str(out / f"sub{i}"), "--user", "stat", *extra],
                              cwd=ROOT, capture_output=True, text=True, env=os.environ)
        times.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
        machine.append(_machine_cpu() - m0)
        assert proc.returncode == 0, proc.stderr
    return times, cpu, machine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="copy the last full report's files here, to look at")
    args = parser.parse_args()
    os.environ["LUNGREAD_PASSWORD"] = PASSWORD
    with tempfile.TemporaryDirectory(prefix="lungread-stats-bench-") as tmp:
        tmp_path = Path(tmp)
        os.environ["LUNGREAD_DATA_DIR"] = str(tmp_path / "data")
        t0 = time.perf_counter()
        url, _ = build(tmp_path / "bench.sqlite", args.subjects)
        print(f"built in {time.perf_counter() - t0:.1f} s")
        variants = (("full report (PDF + PNG figures)", []), ("figures, no PDF (--no-report)", ["--no-report"]),
                    ("tables only (--no-report --no-figures)", ["--no-report", "--no-figures"]))
        for label, extra in variants:
            inproc, inproc_cpu = time_in_process(url, tmp_path / "out", extra, args.repeats)
            sub, sub_cpu, sub_machine = time_subprocess(url, tmp_path / "out", extra, args.repeats)
            print(f"lungread stats, {label}: goal <= 2 s\n"
                  f"  in-process: median {statistics.median(inproc):.2f} s wall "
                  f"({', '.join(f'{t:.2f}' for t in inproc)}), {statistics.median(inproc_cpu):.2f} s CPU\n"
                  f"  subprocess: median {statistics.median(sub):.2f} s wall "
                  f"({', '.join(f'{t:.2f}' for t in sub)}), {statistics.median(sub_cpu):.2f} s CPU, "
                  f"{statistics.median(sub_machine):.2f} s CPU of the machine")
            if args.keep is not None and not extra:
                import shutil

                shutil.copytree(tmp_path / "out" / f"sub{args.repeats - 1}", args.keep, dirs_exist_ok=True)
                print(f"  files of the last subprocess run copied to {args.keep}")
        print(f"CPU seconds do not depend on other load of the machine: wall >> CPU means the cores were busy "
              f"(os.getloadavg: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
