"""The phantom's error type (its own module so every phantom module can raise it)."""

from __future__ import annotations

from quant.errors import LungReadError

__all__ = ["PhantomError"]


class PhantomError(LungReadError):
    """A phantom was requested with an impossible parameter (unknown size, lesion % out of range)."""
