"""Exceptions raised by the reading database services.

All of them are :class:`quant.errors.LungReadError`, so the command line prints the message and
exits 2 and the GUI shows it in a dialog. A forbidden action's message says who may do it and when.
"""

from __future__ import annotations

from quant.errors import LungReadError

__all__ = [
    "DatabaseError",
    "PermissionDenied",
    "WorkflowError",
    "AuthenticationError",
    "ManifestError",
    "MaskIntegrityError",
]


class DatabaseError(LungReadError):
    """The database cannot be opened or is not at the expected schema revision."""


class PermissionDenied(DatabaseError):
    """The caller's role or identity does not allow this action."""


class WorkflowError(DatabaseError):
    """The action is not allowed in the current state (signed, locked, not yet locked, ...)."""


class AuthenticationError(DatabaseError):
    """Unknown user, wrong password, or a locked account."""


class ManifestError(DatabaseError):
    """The manifest file itself cannot be read (missing file, missing columns)."""


class MaskIntegrityError(DatabaseError):
    """A stored mask does not match its recorded checksum or shape."""
