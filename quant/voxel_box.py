"""Bounding-box helpers for sparse mask editing.

Segmentation and editing work on a small box cut out of the volume (around a brush, a seed or the lesions) and
report their result as flat C-order indices into the full ``(z, y, x)`` array, the currency of
:class:`quant.labels.VoxelChange`. These helpers do the two conversions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["flat_indices", "nonzero_box", "padded_box", "EMPTY_INDICES"]

#: A shared, read-only empty index array (int64).
EMPTY_INDICES: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
EMPTY_INDICES.setflags(write=False)


def flat_indices(
    local_mask: NDArray[np.bool_], lo: Sequence[int], shape: Sequence[int]
) -> NDArray[np.int64]:
    """Flat C-order indices into an array of ``shape`` of the true voxels of a box.

    Args:
        local_mask: boolean (z, y, x) mask of a box cut out of the full array.
        lo: (z, y, x) index of the box's first voxel in the full array.
        shape: (z, y, x) shape of the full array.

    Returns:
        Sorted int64 flat indices (sorted because ``np.nonzero`` walks the box in C order and the
        box's C order is the full array's C order).
    """
    zz, yy, xx = np.nonzero(local_mask)
    if zz.size == 0:
        return EMPTY_INDICES
    ny, nx = int(shape[1]), int(shape[2])
    flat = (zz.astype(np.int64) + int(lo[0])) * ny
    flat += yy + int(lo[1])
    flat *= nx
    flat += xx + int(lo[2])
    return flat


def nonzero_box(mask: NDArray[np.bool_]) -> tuple[slice, slice, slice] | None:
    """The tightest (z, y, x) slices holding every true voxel of ``mask``; None when it is empty."""
    boxes = []
    for ax in range(3):
        others = tuple(a for a in range(3) if a != ax)
        hit = np.flatnonzero(mask.any(axis=others))
        if hit.size == 0:
            return None
        boxes.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return boxes[0], boxes[1], boxes[2]


def padded_box(mask: NDArray[np.bool_], margin: int | Sequence[int]) -> tuple[slice, slice, slice]:
    """:func:`nonzero_box` of ``mask`` grown by ``margin`` voxels (one value, or one per axis),
    clipped to the array. ``mask`` must hold a true voxel."""
    box = nonzero_box(mask)
    if box is None:
        raise ValueError("padded_box of an empty mask")
    pads = [int(margin)] * 3 if isinstance(margin, (int, np.integer)) else [int(m) for m in margin]
    return tuple(  # type: ignore[return-value]
        slice(max(b.start - p, 0), min(b.stop + p, n)) for b, p, n in zip(box, pads, mask.shape)
    )
