"""Database connection: SQLite by default (WAL, foreign keys, busy timeout), PostgreSQL by URL.

:func:`connect` returns a :class:`Database`, which every service takes as its first argument. A
fresh database is brought to the newest schema with the Alembic migrations shipped in this package.
Write transactions go through :meth:`Database.write`, which retries with backoff when SQLite
reports "database is locked" (or PostgreSQL a serialization failure), so callers never see it.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.errors import DatabaseError

__all__ = ["Database", "connect", "default_data_dir", "default_url", "DB_FILE_NAME"]

T = TypeVar("T")

DB_FILE_NAME = "lungread.sqlite"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Retry budget for lock contention. SQLite already waits busy_timeout inside each attempt; the
# backoff covers the cases where it returns SQLITE_BUSY at once (e.g. a stale WAL snapshot).
RETRY_TOTAL_S = 120.0
RETRY_FIRST_SLEEP_S = 0.005
RETRY_MAX_SLEEP_S = 0.5


def default_data_dir() -> Path:
    """The per-user data folder: env ``LUNGREAD_DATA_DIR`` if set, else platformdirs' user data dir."""
    env = os.environ.get("LUNGREAD_DATA_DIR")
    path = Path(env) if env else Path(platformdirs.user_data_dir("LungRead", "LungRead"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_url() -> str:
    """SQLite file ``lungread.sqlite`` in :func:`default_data_dir`."""
    return f"sqlite:///{default_data_dir() / DB_FILE_NAME}"


def database_url(url: str | os.PathLike[str] | None) -> str:
    """The SQLAlchemy URL of a database: None -> the default file, a plain path -> an SQLite file,
    ``postgresql://`` -> through psycopg 3."""
    if url is None:
        return default_url()
    text = os.fspath(url)
    if "://" not in text:
        # A plain path means an SQLite file.
        return f"sqlite:///{Path(text).expanduser().resolve()}"
    if text.startswith("postgresql://") or text.startswith("postgres://"):
        # Same server, but through psycopg 3 (the only PostgreSQL driver we ship).
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


#: Unique constraints on a number a transaction computes from the rows before it (retry = renumber).
_RENUMBERED = frozenset({"uq_read_task_revision"})


def _is_locked_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):  # raised unwrapped from the connect hook's PRAGMAs
        return "locked" in str(exc).lower() or "busy" in str(exc).lower()
    if isinstance(exc, OperationalError):
        msg = str(exc.orig if exc.orig is not None else exc).lower()
        if "database is locked" in msg or "database is busy" in msg or "database table is locked" in msg:
            return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # PostgreSQL: serialization failure (40001) and deadlock (40P01) are safe to retry.
        code = getattr(exc.orig, "sqlstate", None)
        if code in ("40001", "40P01"):
            return True
        # Two sessions numbering the next revision of the same task (max + 1) at once: the later
        # insert hits the unique revision; run again, it takes the next number. (SQLite serialises
        # writers, so it never gets here.)
        if code == "23505" and getattr(getattr(exc.orig, "diag", None), "constraint_name", None) in _RENUMBERED:
            return True
    return False


@dataclass
class Database:
    """An open reading database: an engine plus session factories. Create with :func:`connect`."""

    url: str
    engine: Engine
    _sessions: sessionmaker[Session] = field(repr=False)
    _read_sessions: sessionmaker[Session] = field(repr=False)
    retries: int = 0  # lock-contention retries so far (diagnostics and tests)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in one write transaction, committing at the end.

        On lock contention the whole transaction is rolled back and ``work`` runs again after an
        exponential backoff with jitter, so ``work`` must have no side effects outside the session.
        """
        return self._run(self._sessions, work)

    def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in a read-only transaction (no write lock taken on SQLite)."""
        return self._run(self._read_sessions, work)

    def _run(self, factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
        deadline = time.monotonic() + RETRY_TOTAL_S
        sleep = RETRY_FIRST_SLEEP_S
        while True:
            try:
                with factory() as session, session.begin():
                    return work(session)
            except (DBAPIError, sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
                problem = environment_problem(exc, self.url)
                if problem is not None:
                    raise DatabaseError(problem) from exc
                if not _is_locked_error(exc) or time.monotonic() > deadline:
                    raise
                self.retries += 1
                time.sleep(sleep * (0.5 + random.random()))
                sleep = min(sleep * 2, RETRY_MAX_SLEEP_S)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A plain session for tests and maintenance (no retry); prefer :meth:`write`/:meth:`read`."""
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


# SQLite / OS conditions that are the environment's, not a bug: one clear sentence each.
_ENVIRONMENT = (
    ("readonly database", "the database {url} is read-only (file permissions, or a read-only disk or share); "
                          "nothing was saved"),
    ("database or disk is full", "the disk holding the database {url} is full; nothing was saved"),
    ("file is not a database", "{url} is not a database file, or it is damaged: restore it from a backup"),
    ("database disk image is malformed", "the database file {url} is damaged (malformed): restore it from a backup"),
    ("unable to open database file", "cannot open the database file {url} (missing folder or no permission)"),
    ("disk i/o error", "disk I/O error on the database {url}: check the disk, then restore from a backup if needed"),
)


def environment_problem(exc: BaseException, url: str) -> str | None:
    """A one-line explanation when ``exc`` is a read-only, full, damaged or unreachable database."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    for needle, message in _ENVIRONMENT:
        if needle in text:
            return message.format(url=url)
    return None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is deferred,
        # which makes a read->write lock upgrade fail at once instead of waiting).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        # FULL: a committed read survives a power cut, not only a killed process.
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get("lungread_readonly"):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            # Take the write lock up front: waiting happens here (busy_timeout), never mid-way.
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_other_schema(tables: set[str], url: str) -> None:
    if tables and "alembic_version" not in tables:
        raise DatabaseError(f"{url} is not a LungRead database (it holds other tables: "
                            f"{', '.join(sorted(tables)[:5])}); it was left untouched")


def _refuse_foreign_sqlite(path: Path, url: str) -> None:
    """Look at an existing SQLite file read-only before LungRead's connection settings (WAL) touch
    it: a damaged file, or one holding other tables and no LungRead schema, is refused unchanged."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(environment_problem(exc, url) or f"cannot open database {url}: {exc}") from exc
    _refuse_other_schema(tables, url)


def connect(url: str | os.PathLike[str] | None = None, *, upgrade: bool = True, must_exist: bool = False) -> Database:
    """Open (and, if needed, create and migrate) a reading database.

    ``url``: ``None`` for ``lungread.sqlite`` in :func:`default_data_dir`; a file path or
    ``sqlite:///...`` URL; or ``postgresql+psycopg://user@host:port/dbname``. With ``upgrade`` the
    schema is brought to the newest Alembic revision (a fresh database is created from scratch).
    ``must_exist``: refuse a SQLite file that does not exist yet (every command but ``db init``).
    A database that holds other tables but no LungRead schema is never touched.
    """
    text = database_url(url)
    parsed = make_url(text)
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        file = parsed.database if parsed.database and parsed.database != ":memory:" else None
        if file is not None and must_exist and not file.startswith("file:") and not Path(file).is_file():
            raise DatabaseError(f"there is no database at {file!r}: create one with `lungread db init --db {file}`")
        if file is not None and not file.startswith("file:"):
            Path(file).parent.mkdir(parents=True, exist_ok=True)
            if Path(file).is_file():
                _refuse_foreign_sqlite(Path(file), text)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    else:
        raise DatabaseError(
            f"unsupported database URL {text!r}: use a file path, sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        )
    try:
        engine = create_engine(text, **kwargs)
    except Exception as exc:  # bad URL syntax, missing driver
        raise DatabaseError(f"cannot open database {text!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    read_engine = engine.execution_options(lungread_readonly=True)
    db = Database(
        url=text,
        engine=engine,
        _sessions=sessionmaker(engine, expire_on_commit=False),
        _read_sessions=sessionmaker(read_engine, expire_on_commit=False),
    )
    try:
        tables = set(inspect(engine).get_table_names())
        _refuse_other_schema(tables, text)  # PostgreSQL (a SQLite file was looked at before)
        if upgrade:
            from db.migrations import upgrade_head  # alembic loads only when a schema may change

            upgrade_head(engine)
        elif not tables:
            raise DatabaseError(f"{text} is not a LungRead database: run `lungread db init --db URL`")
    except DatabaseError:
        engine.dispose()
        raise
    except (SQLAlchemyError, sqlite3.DatabaseError) as exc:
        engine.dispose()
        problem = environment_problem(exc, text)
        raise DatabaseError(problem or f"cannot open database {text}: {getattr(exc, 'orig', None) or exc}") from exc
    return db
