"""Overlap of two masks, for the segmentation accuracy tests."""

from __future__ import annotations

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks of the same shape (0 when both are empty)."""
    return 2.0 * float(np.count_nonzero(a & b)) / max(float(np.count_nonzero(a) + np.count_nonzero(b)), 1.0)
