"""Helpers for the reading-package tests: a master database with a worklist, offline signing
through the normal services against a package database, and master snapshots."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select, text

import db
from db import Database
from db.models import AuditEvent, ReadTask
from db.records import Actor
from db.services import (
    authenticate,
    generate_worklist,
    import_manifest,
    save_draft,
    set_image_store,
    sign_read,
    worklist,
)
from tests.support.db_trial import PASSWORD, make_accounts, read_input

MEANING = "I am the author of this read"
MASK_SHAPE = (6, 16, 16)


@dataclass
class Master:
    db: Database
    path: Path
    actors: dict[str, Actor]

    @property
    def boss(self) -> Actor:
        return self.actors["boss"]


def build_master(path: Path, manifest: Path, *, seed: int = 1) -> Master:
    """Master database at ``path`` (SQLite file or server URL; a server database gets an image
    store beside the manifest): accounts, the manifest's scans, a worklist for r1 and r2."""
    database = db.connect(path)
    if database.dialect != "sqlite":
        import tempfile

        set_image_store(database, tempfile.mkdtemp(prefix="image-store-", dir=manifest.parent))
    actors = make_accounts(database)
    report = import_manifest(database, actors["boss"], manifest)
    assert report.ok, report.errors
    generate_worklist(database, actors["boss"], seed=seed)
    return Master(database, path, actors)


def scan_of_case(master: Database) -> dict[str, int]:
    """Master case code -> scan id (the test's own knowledge; readers never see it)."""
    return master.read(lambda s: {t.case_code: t.scan_id for t in s.scalars(select(ReadTask))})


def sign_offline(package: Path, reader: str, lesion_pct: Callable[[str], float], *,
                 draft_only: set[str] = frozenset(), seed: int = 0) -> dict[str, float]:
    """Open the package and sign every case (``lesion_pct(case_code)``) through the services.

    Cases in ``draft_only`` get a saved draft and no signature. Returns case code -> lesion %.
    """
    from db.packages.open import open_package

    pkg = open_package(package)
    try:
        actor = authenticate(pkg, reader, PASSWORD)
        signed: dict[str, float] = {}
        for i, task in enumerate(worklist(pkg, actor)):
            pct = float(lesion_pct(task.case_code))
            read = read_input(pct, pct / 4, normal=pct == 0.0, shape=MASK_SHAPE, seed=seed + i)
            if task.case_code in draft_only:
                save_draft(pkg, actor, task.task_id, read)
                continue
            sign_read(pkg, actor, task.task_id, read, PASSWORD, MEANING)
            signed[task.case_code] = pct
        return signed
    finally:
        pkg.dispose()


def snapshot(database: Database) -> tuple[dict[str, int], str | None]:
    """Row count of every table and the audit head hash."""
    with database.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        counts = {n: conn.execute(text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one() for n in names}
    head = database.read(lambda s: s.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)))
    return counts, head


def sql(db_file: Path, statement: str, params: tuple = ()) -> None:
    """Edit a package database behind the services' back (what a tamperer would do)."""
    conn = sqlite3.connect(db_file)
    try:
        conn.execute(statement, params)
        conn.commit()
    finally:
        conn.close()
