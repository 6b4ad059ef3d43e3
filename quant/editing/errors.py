"""Errors raised by the mask-editing tools (bad brush settings, label or position)."""

from __future__ import annotations

from quant.errors import LungReadError

__all__ = ["EditingError"]


class EditingError(LungReadError):
    """An editing request that cannot be carried out as given (the message says what to change)."""
