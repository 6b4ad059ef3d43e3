"""Fill between slices: interpolate a contour drawn on non-adjacent slices, as ITK-SNAP does.

The reader outlines a lesion on, say, every fifth axial slice; the empty slices in between are
filled by linear interpolation of the two bounding slices' *signed distance maps* (mm, in-plane
spacing respected): a voxel of an empty slice at fraction ``w`` of the way from slice ``k0`` to
slice ``k1`` is inside when ``(1 - w) * sdf0 + w * sdf1 < 0`` (negative inside). Shapes therefore
morph smoothly, shift and grow or shrink, rather than being copied.

Every pair of consecutive slices that contain the label bounds a gap; like ITK-SNAP, all gaps of
the label along the axis are filled, so two unrelated lesions on distant slices are bridged too.
``max_gap`` limits that. As with any distance-map interpolation, the shapes on the two slices
must overlap in-plane to be joined: two disjoint shapes each shrink away towards the middle of the
gap instead of being bridged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.editing.errors import EditingError
from quant.voxel_box import EMPTY_INDICES

__all__ = ["signed_distance_2d", "fill_between_slices"]

_PAD = 2  # background margin around a slice's box, so every shape has an outside to measure to


def signed_distance_2d(mask: NDArray[np.bool_], spacing_2d: Sequence[float]) -> NDArray[np.float64]:
    """Signed distance (mm) of a 2-D mask: negative inside, positive outside, never zero.

    Inside voxels get minus their distance to the nearest outside voxel and outside voxels their
    distance to the nearest inside voxel (Euclidean, between voxel centres). The mask must have
    both inside and outside voxels.
    """
    sampling = tuple(float(v) for v in spacing_2d)
    outside = ndimage.distance_transform_edt(~mask, sampling=sampling)
    inside = ndimage.distance_transform_edt(mask, sampling=sampling)
    return outside - inside


def fill_between_slices(
    labels: NDArray[np.uint8],
    value: int,
    axis: int,
    spacing: Sequence[float],
    max_gap: int | None = None,
) -> NDArray[np.int64]:
    """Voxels to set to ``value`` so that the gaps between labelled slices are filled.

    Args:
        labels: (z, y, x) label map.
        value: the label to interpolate (other labels are ignored as shapes).
        axis: array axis along which slices are taken (0 axial, 1 coronal, 2 sagittal).
        spacing: voxel size (z, y, x) in mm; the in-plane pair shapes the distance maps.
        max_gap: fill only gaps of at most this many empty slices (None: every gap).

    Returns:
        Sorted flat indices, in the empty slices only, of voxels the interpolated shape covers
        (they may hold another label; the caller applies its overwrite policy).
    """
    if axis not in (0, 1, 2):
        raise EditingError(f"slice axis must be 0 (z), 1 (y) or 2 (x), got {axis!r}")
    others = tuple(a for a in range(3) if a != axis)
    present = np.flatnonzero((labels == value).any(axis=others))
    spacing_2d = [float(spacing[a]) for a in others]
    shape_2d = [labels.shape[a] for a in others]
    chunks: list[NDArray[np.int64]] = []
    for k0, k1 in zip(present[:-1], present[1:]):
        gap = int(k1 - k0 - 1)
        if gap < 1 or (max_gap is not None and gap > max_gap):
            continue
        s0 = np.take(labels, int(k0), axis=axis) == value
        s1 = np.take(labels, int(k1), axis=axis) == value
        both = s0 | s1
        rows = np.flatnonzero(both.any(axis=1))
        cols = np.flatnonzero(both.any(axis=0))
        r0, r1 = max(rows[0] - _PAD, 0), min(rows[-1] + _PAD + 1, shape_2d[0])
        c0, c1 = max(cols[0] - _PAD, 0), min(cols[-1] + _PAD + 1, shape_2d[1])
        # Pad with background so a shape touching the image edge still has an outside.
        b0 = np.pad(s0[r0:r1, c0:c1], _PAD)
        b1 = np.pad(s1[r0:r1, c0:c1], _PAD)
        inner = (slice(_PAD, -_PAD), slice(_PAD, -_PAD))
        d0 = signed_distance_2d(b0, spacing_2d)[inner]
        d1 = signed_distance_2d(b1, spacing_2d)[inner]
        for k in range(int(k0) + 1, int(k1)):
            w = (k - k0) / (k1 - k0)
            rr, cc = np.nonzero((1.0 - w) * d0 + w * d1 < 0.0)
            if rr.size == 0:
                continue
            idx = [None, None, None]
            idx[axis] = np.full(rr.size, k, dtype=np.int64)
            idx[others[0]] = rr.astype(np.int64) + r0
            idx[others[1]] = cc.astype(np.int64) + c0
            chunks.append(np.ravel_multi_index(tuple(idx), labels.shape).astype(np.int64))
    if not chunks:
        return EMPTY_INDICES
    return np.sort(np.concatenate(chunks))
