"""SQLAlchemy 2.0 models of the reading database: the core tables (:mod:`db.models.core`) and the
reading-package tables (:mod:`db.models.packages`, Alembic revision 0002), on one metadata.

Importing this package registers every table on :data:`Base.metadata`.
"""

from db.models import core, packages
from db.models.core import *  # noqa: F403  (re-exported: core.__all__)
from db.models.packages import *  # noqa: F403  (re-exported: packages.__all__)

__all__ = [*core.__all__, *packages.__all__]
