"""SQLAlchemy 2.0 models of the reading database: the core tables (:mod:`db.models.core`) and the
reading-package tables (:mod:`db.models.packages`, Alembic revision 0002), on one metadata.

Importing this package registers every table on :data:`Base.metadata`.
"""

from db.models.core import (
    ROLES,
    AdjudicationTask,
    AuditEvent,
    Base,
    DatabaseLock,
    MaskBlob,
    Randomization,
    Read,
    ReadTask,
    Scan,
    Subject,
    Trial,
    Unblinding,
    User,
    Visit,
)
from db.models.packages import PACKAGE_TABLES, PackageReadImport, ReadingPackage

__all__ = [
    "Base",
    "User",
    "Trial",
    "Subject",
    "Visit",
    "Scan",
    "ReadTask",
    "MaskBlob",
    "Read",
    "AdjudicationTask",
    "AuditEvent",
    "DatabaseLock",
    "Unblinding",
    "Randomization",
    "ROLES",
    "ReadingPackage",
    "PackageReadImport",
    "PACKAGE_TABLES",
]
