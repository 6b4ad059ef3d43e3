"""Exceptions of the automatic segmentation (re-exported by :mod:`quant.segment.pipeline`).

They live in their own module so that :mod:`quant.segment.lungs` and :mod:`quant.segment.lesions` can raise them
without importing the pipeline module that imports them.
"""

from __future__ import annotations

from quant.errors import LungReadError

__all__ = ["SegmentationError", "SegmentationCancelled"]


class SegmentationError(LungReadError):
    """The automatic segmentation cannot produce a result for this volume (e.g. no lungs in it)."""


class SegmentationCancelled(LungReadError):
    """The caller's ``cancel()`` callback asked the segmentation to stop; no result was produced."""
