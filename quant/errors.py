"""Base exception for errors that are the user's to fix (bad input, forbidden action).

Every layer derives its precise exceptions from :class:`LungReadError`, so the command line and
the GUI can show the message plainly (no traceback) while real bugs still surface as tracebacks.
"""

from __future__ import annotations

__all__ = ["LungReadError"]


class LungReadError(Exception):
    """An error whose message is meant for the user: it says what is wrong and, ideally, what to do."""
