"""LungRead reading database: SQLAlchemy models, migrations and the blinded two-reader workflow.

``db.connect(url)`` opens (and migrates) a database; the workflow services are in
:mod:`db.services`. This package never imports Qt or VTK.
"""

from db.engine import Database, connect, default_data_dir

__all__ = ["Database", "connect", "default_data_dir"]
