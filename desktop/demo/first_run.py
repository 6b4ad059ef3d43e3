"""First-run creation of the demo trial in the user data folder (``<data dir>/demo``).

Creates a small phantom trial (8 subjects × 4 visits by default) with ``quant.phantom.make_trial``,
a SQLite reading database, the demo accounts (``reader1``, ``reader2``, ``adjudicator``, ``manager``,
``statistician``; password :data:`desktop.app.session.DEMO_PASSWORD`), imports the manifest and
generates the worklist. Everything goes through ``db.services``, like a real core lab would.

The randomisation list stays in the trial folder (never in the database) until the statistician
unblinds. A ``READY`` marker is written last, so an interrupted creation is redone from scratch.
No Qt here: the GUI runs :func:`create_demo` in a worker thread behind a progress window.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from desktop.app.application import data_dir
from desktop.app.session import DEMO_PASSWORD, DEMO_USERS
from desktop.app.workers import OperationCancelled
from quant.errors import LungReadError

__all__ = ["demo_root", "demo_url", "is_ready", "remove_demo", "create_demo", "DB_NAME"]

DB_NAME = "lungread-demo.sqlite"
_READY = "READY"


def demo_root() -> Path:
    """``<user data folder>/demo`` (``LUNGREAD_DATA_DIR`` overrides the platform folder)."""
    return data_dir() / "demo"


def demo_url(root: Path) -> str:
    return f"sqlite:///{(root / DB_NAME).resolve()}"


def is_ready(root: Path) -> bool:
    return (root / _READY).is_file() and (root / DB_NAME).is_file()


def remove_demo(root: Path) -> None:
    """Delete a (possibly half-created) demo folder."""
    if root.exists():
        shutil.rmtree(root, ignore_errors=True)


def _visits(n: int) -> list[str]:
    from quant.phantom import DEFAULT_VISITS  # lazy: numpy/scipy stay out of the start-up before login

    return list(DEFAULT_VISITS)[: max(1, min(n, len(DEFAULT_VISITS)))]


def create_demo(
    root: Path,
    *,
    subjects: int = 8,
    visits: int = 4,
    seed: int = 0,
    progress: Callable[..., None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    before_import: Callable[[object], None] | None = None,
) -> Path:
    """Create the demo trial under ``root``; returns the database file. Raises on failure.

    Progress goes 0..100: phantom scans take most of it (about 1 s per scan here).
    ``before_import(trial_files)`` runs after the phantom files exist and before the database
    imports them (tests plant PHI strings in the DICOM headers there).
    """
    report = progress or (lambda *a: None)
    stop = cancelled or (lambda: False)

    def check() -> None:
        if stop():
            raise OperationCancelled("Creating the demo trial")

    remove_demo(root)
    root.mkdir(parents=True, exist_ok=True)
    from quant.phantom import make_trial  # lazy: as in _visits

    n_scans = subjects * visits

    def scan_progress(*args: object) -> None:
        check()
        done = int(args[0]) if args else 0  # type: ignore[call-overload]
        total = int(args[1]) if len(args) > 1 and args[1] else n_scans  # type: ignore[call-overload]
        report(int(80 * done / max(total, 1)), 100,
               f"Creating phantom CT scans ({done} of {total})…")

    report(0, 100, f"Creating phantom CT scans (0 of {n_scans})…")
    trial = make_trial(root / "trial", subjects=subjects, visits=_visits(visits), seed=seed,
                       size="small", progress=scan_progress)
    check()
    if before_import is not None:
        before_import(trial)

    report(82, 100, "Creating the reading database and demo accounts…")
    from db import services  # lazy: SQLAlchemy must not load before the login dialog

    database = services.connect(root / DB_NAME)
    try:
        manager = None
        # The first account of an empty database is the (bootstrap) manager.
        for username, role in sorted(DEMO_USERS, key=lambda u: u[1] != "manager"):
            services.create_user(database, manager, username, role, DEMO_PASSWORD)
            if manager is None:
                manager = services.authenticate(database, username, DEMO_PASSWORD)
        check()
        services.create_trial(database, manager, "LungRead demo trial")
        report(88, 100, "Importing the scans from the manifest…")
        imported = services.import_manifest(database, manager, trial.manifest)
        if not getattr(imported, "ok", True):
            rows = "; ".join(f"row {e.row}: {e.message}" for e in imported.errors[:5])
            raise LungReadError(f"the demo manifest did not import: {rows}")
        report(96, 100, "Generating the reading worklists…")
        services.generate_worklist(database, manager, seed)
    finally:
        dispose = getattr(database, "dispose", None)
        if dispose is not None:
            dispose()
    (root / _READY).write_text(f"subjects={subjects} visits={visits} seed={seed}\n", encoding="utf-8")
    report(100, 100, "Demo trial ready.")
    return root / DB_NAME
