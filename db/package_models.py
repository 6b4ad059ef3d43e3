"""Master-database tables of reading packages: the per-package HMAC key and the import provenance.

These tables live on their **own** SQLAlchemy metadata (:data:`PackageBase`), not on
:class:`db.models.Base`: the Alembic revision of the core schema is checked against
``db.models.Base.metadata`` (tests/test_db_storage.py), and these tables are not in that revision
yet. :func:`ensure_package_tables` creates them on first use (idempotent, ``CREATE TABLE IF NOT
EXISTS``). They hold no foreign keys to the core tables for the same reason; ids are checked by
the package services. A later Alembic revision should create the same two tables (see
:data:`PACKAGE_TABLES`) and then these classes can move onto ``db.models.Base``.

The HMAC key never leaves the master database: a package only carries the manifest's MAC.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .engine import Database

__all__ = ["PackageBase", "ReadingPackage", "PackageReadImport", "ensure_package_tables", "PACKAGE_TABLES"]


class PackageBase(DeclarativeBase):
    pass


class ReadingPackage(PackageBase):
    """One exported package: who it is for, its secret key, and how far its import has got."""

    __tablename__ = "reading_packages"

    package_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex, in the manifest
    reader_id: Mapped[int] = mapped_column(Integer, index=True)  # users.id of the reader
    hmac_key: Mapped[str] = mapped_column(String(64))  # hex of 32 random bytes; never exported
    created_by: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40))
    case_codes_json: Mapped[str] = mapped_column(Text)  # JSON list of the exported tasks' case codes
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    # Highest package audit event id already merged into the master trail (0: none yet).
    merged_event_id: Mapped[int] = mapped_column(Integer, default=0)
    imports: Mapped[int] = mapped_column(Integer, default=0)
    last_import_at: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)


class PackageReadImport(PackageBase):
    """Provenance of one merged read: which package read became which master read."""

    __tablename__ = "package_read_imports"
    __table_args__ = (UniqueConstraint("package_id", "package_read_id", name="uq_package_read"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[str] = mapped_column(String(32), index=True)
    case_code: Mapped[str] = mapped_column(String(16), index=True)
    package_read_id: Mapped[int] = mapped_column(Integer)
    master_read_id: Mapped[int] = mapped_column(Integer, unique=True)  # reads.id
    content_sha256: Mapped[str] = mapped_column(String(64))
    sign_event_hash: Mapped[str] = mapped_column(String(64))  # hash of the package's sign event
    imported_at: Mapped[str] = mapped_column(String(40))


PACKAGE_TABLES = (ReadingPackage.__table__, PackageReadImport.__table__)


def ensure_package_tables(db: Database) -> None:
    """Create the package tables in ``db`` if they are missing (safe to call every time)."""
    with db.engine.begin() as conn:
        PackageBase.metadata.create_all(conn, tables=list(PACKAGE_TABLES), checkfirst=True)
