"""Alembic migrations shipped inside the package, runnable without an alembic.ini.

:func:`alembic_config` builds the Config programmatically with ``script_location`` pointing at this
folder, so ``lungread db upgrade`` works from an installed wheel.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = ["alembic_config", "upgrade_head", "current_revision", "head_revision", "MIGRATIONS_DIR"]

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_head(engine: Engine) -> str | None:
    """Bring the schema to the newest revision (creating it on a fresh database); returns the head."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    # One transaction: on SQLite the begin hook takes the write lock first (BEGIN IMMEDIATE), so
    # two processes opening a fresh file at once migrate one after the other.
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head
