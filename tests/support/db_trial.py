"""Helpers for the database tests: a tiny DICOM trial with planted strings, accounts, read inputs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from db import Database
from db.models import ReadTask
from db.records import Actor
from db.services import ReadInput, authenticate, create_user, next_task, sign_read

PASSWORD = "correct-horse-1"
ACCOUNTS = {
    "boss": "manager",
    "r1": "reader",
    "r2": "reader",
    "adj_a": "adjudicator",  # also reads some scans (listed explicitly as a reader)
    "adj_b": "adjudicator",
    "stat": "statistician",
}


@dataclass
class MiniTrial:
    root: Path
    manifest: Path
    randomization: Path
    subjects: list[str]
    visits: list[str]
    shape: tuple[int, int, int]


def write_mini_trial(
    root: Path,
    subjects: list[str],
    visits: list[str],
    *,
    arms: tuple[str, str] = ("ARM-ALPHA", "ARM-BETA"),
    phi: dict[str, str] | None = None,
    shape: tuple[int, int, int] = (6, 16, 16),
) -> MiniTrial:
    """One tiny CT series per subject and visit under ``root/<subject>/<visit>/dicom`` (paths carry
    the subject code and visit name on purpose), plus ``manifest.csv`` and ``randomization.csv``."""
    from quant.dicom.write import write_series
    from quant.volume import Volume

    rows = []
    rng = np.random.default_rng(1)
    for s_i, subject in enumerate(subjects):
        for v_i, visit in enumerate(visits):
            hu = rng.integers(-1000, 200, size=shape).astype(np.int16)
            out = root / subject / visit / "dicom"
            out.mkdir(parents=True, exist_ok=True)
            write_series(Volume(hu, (2.5, 1.5, 1.5)), out, phi=dict(phi or {}), seed=s_i * 100 + v_i)
            rows.append({"subject": subject, "visit": visit, "visit_day": str(v_i * 10),
                         "series_folder": f"{subject}/{visit}/dicom", "study_date": f"2020010{v_i + 1}"})
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    randomization = root / "randomization.csv"
    with open(randomization, "w", newline="") as fh:
        fh.write("subject,arm\n")
        for i, subject in enumerate(subjects):
            fh.write(f"{subject},{arms[i % 2]}\n")
    return MiniTrial(root, manifest, randomization, list(subjects), list(visits), shape)


def make_accounts(db: Database, accounts: dict[str, str] = ACCOUNTS) -> dict[str, Actor]:
    """Create the accounts (first one bootstraps, must be the manager) and log each in."""
    names = list(accounts)
    create_user(db, None, names[0], accounts[names[0]], PASSWORD)
    boss = authenticate(db, names[0], PASSWORD)
    for name in names[1:]:
        create_user(db, boss, name, accounts[name], PASSWORD)
    return {name: authenticate(db, name, PASSWORD) for name in names}


def read_input(lesion_pct: float, solid_pct: float, *, normal: bool | None = False,
               shape: tuple[int, int, int] | None = None, seed: int = 0, **extra: object) -> ReadInput:
    """A read with the given percentages (% of lung volume) and, with ``shape``, random label maps."""
    lung = lesion = None
    if shape is not None:
        rng = np.random.default_rng(seed)
        lung = rng.integers(0, 3, size=shape).astype(np.uint8)
        lesion = (rng.random(shape) < 0.1).astype(np.uint8) * rng.integers(1, 3, size=shape).astype(np.uint8)
    metrics = {"lesion_pct": lesion_pct, "solid_pct": solid_pct, "lung_ml": 4000.0,
               "lesion_ml": 40.0 * lesion_pct}
    return ReadInput(metrics=metrics, normal_ct=normal, confidence=4, comment="", lung_labels=lung,
                     lesion_labels=lesion, algorithm_version="test-1", protocol_hash="0" * 64, **extra)  # type: ignore[arg-type]


def seed_tasks(database: Database, readers: list[str], n_per_reader: int) -> dict[str, list[int]]:
    """Insert a trial with ``n_per_reader`` scans per reader (each read by that reader alone) directly
    as rows, for tests about saving and signing where image files play no part. Returns task ids."""
    import json

    from db.charter import Charter
    from db.models import ReadTask, Scan, Subject, Trial, User, Visit
    from db.security.audit import utc_now

    out: dict[str, list[int]] = {}
    with database.session() as s:
        trial = Trial(name="t", charter_json=Charter().to_json(), created_at=utc_now())
        s.add(trial)
        s.flush()
        for name in readers:
            uid = s.scalar(select_user_id(User, name))
            out[name] = []
            for i in range(n_per_reader):
                subject = Subject(trial_id=trial.id, code=f"{name}-{i}")
                s.add(subject)
                s.flush()
                visit = Visit(subject_id=subject.id, name="V", visit_day=0)
                s.add(visit)
                s.flush()
                scan = Scan(visit_id=visit.id, series_uid=f"1.2.{uid}.{i}", folder="/nonexistent", content_hash="0" * 64,
                            image_key=f"{uid:04d}{i:08d}", files_json="[]", display_json=json.dumps({}),
                            created_at=utc_now())
                s.add(scan)
                s.flush()
                task = ReadTask(scan_id=scan.id, reader_id=uid, reader_slot=1, case_code=f"T{uid:03d}-{i:05d}",
                                order_index=i, status="new", created_at=utc_now())
                s.add(task)
                s.flush()
                out[name].append(task.id)
        s.commit()
    return out


def select_user_id(user_model, name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    return select(user_model.id).where(user_model.username == name)


def sign_all(database, actor, values):  # type: ignore[no-untyped-def]
    """Sign each of ``actor``'s tasks; ``values(scan_id, slot)`` gives the ReadInput."""
    with database.session() as s:
        tasks = {t.id: t for t in s.scalars(select(ReadTask).where(ReadTask.reader_id == actor.user_id))}
    while (tv := next_task(database, actor)) is not None:
        t = tasks[tv.task_id]
        sign_read(database, actor, t.id, values(t.scan_id, t.reader_slot), PASSWORD, "I am the author")
    return tasks
