"""Master-database tables of reading packages: the per-package HMAC key and the import provenance.

They live on :class:`db.models.core.Base` and are created by Alembic revision 0002. They hold no
foreign keys to the core tables: ids are checked by the package services.

The HMAC key never leaves the master database: a package only carries the manifest's MAC.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.core import Base

__all__ = ["ReadingPackage", "PackageReadImport", "PACKAGE_TABLES"]


class ReadingPackage(Base):
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


class PackageReadImport(Base):
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
