"""The application's connection to one reading database and the signed-in user.

The database connects lazily, on first use (normally in the login worker thread), so SQLAlchemy is
imported only after the login dialog is already on screen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.services import Actor, Database

__all__ = ["AppContext", "DEMO_PASSWORD", "DEMO_USERS"]

# Demo accounts of the built-in demo trial (documented in the README; shown on the login dialog of
# the demo database only).
DEMO_PASSWORD = "lungread"
DEMO_USERS: tuple[tuple[str, str], ...] = (
    ("reader1", "reader"),
    ("reader2", "reader"),
    ("adjudicator", "adjudicator"),
    ("manager", "manager"),
    ("statistician", "statistician"),
)


@dataclass
class AppContext:
    """What the windows share: database URL, lazy connection, current actor, demo folder."""

    url: str | None = None
    demo_root: Path | None = None
    actor: Actor | None = None  # once signed in
    _db: Database | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_demo(self) -> bool:
        return self.demo_root is not None

    def database(self) -> Database:
        """The ``db.Database`` (connects on first call; safe from any thread)."""
        with self._lock:
            if self._db is None:
                from db.services import connect

                self._db = connect(self.url)
            return self._db

    @property
    def randomization_csv(self) -> Path | None:
        """The demo trial's randomisation list (for the statistician's file dialog default)."""
        if self.demo_root is None:
            return None
        hits = sorted(self.demo_root.rglob("randomization.csv"))
        return hits[0] if hits else None
