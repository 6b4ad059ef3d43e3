"""Region tools on label maps: grow from a seed, and lesion connected-component clean-up.

All functions are pure: they read (z, y, x) arrays and return the sorted flat indices of the voxels
the tool selects; the editor decides what to write there (overwrite policy, undo history).

Connectivity (a deliberate choice, see the constants):

* **grow** uses 6-connectivity (faces only), so a region cannot leak through a single diagonal
  contact between two voxels in the HU range, which is how grow leaks into vessels and airway
  walls with 26-connectivity;
* **islands** (remove island, keep largest, remove small) use 26-connectivity over GGO and solid
  together: a lesion is what the reader sees as one blob, a solid core with its ground-glass halo,
  including parts that touch only at a corner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from quant.editing.brush import EPS_MM2, round_index
from quant.editing.errors import EditingError
from quant.voxel_box import EMPTY_INDICES, flat_indices, nonzero_box

__all__ = [
    "GROW_CONNECTIVITY",
    "ISLAND_CONNECTIVITY",
    "grow_region",
    "lesion_component_at",
    "all_but_largest_component",
    "components_smaller_than",
    "nearest_label",
]

GROW_CONNECTIVITY = 6
ISLAND_CONNECTIVITY = 26

_STRUCTURES = {
    6: ndimage.generate_binary_structure(3, 1),
    26: ndimage.generate_binary_structure(3, 3),
}


def _seed_index(seed_zyx: ArrayLike, shape: Sequence[int]) -> NDArray[np.int64] | None:
    seed = round_index(np.asarray(seed_zyx, dtype=np.float64).reshape(3))
    if np.any(seed < 0) or np.any(seed >= np.asarray(shape)):
        return None
    return seed


def grow_region(
    hu: NDArray[np.int16],
    lung_labels: NDArray[np.uint8],
    seed_zyx: ArrayLike,
    hu_range: tuple[float, float],
    max_radius_mm: float,
    spacing: Sequence[float],
) -> NDArray[np.int64]:
    """Connected region around a seed, within an HU range, the lungs and a radius.

    Args:
        hu: CT (z, y, x) in HU.
        lung_labels: lung label map (z, y, x); the region stays where it is > 0.
        seed_zyx: the clicked (z, y, x) voxel position (fractional allowed; rounded).
        hu_range: inclusive (low, high) HU bounds.
        max_radius_mm: the region stays within this distance (mm, spacing-aware) of the seed.
        spacing: voxel size (z, y, x) in mm.

    Returns:
        Sorted flat indices of the 6-connected component containing the seed of the voxels that
        satisfy all three limits; empty when the seed itself does not.
    """
    lo_hu, hi_hu = float(hu_range[0]), float(hu_range[1])
    if lo_hu > hi_hu:
        raise EditingError(f"HU range must be (low, high), got {hu_range!r}")
    if not max_radius_mm > 0:
        raise EditingError(f"grow radius must be a positive number of mm, got {max_radius_mm!r}")
    seed = _seed_index(seed_zyx, hu.shape)
    if seed is None:
        return EMPTY_INDICES
    s = np.asarray(spacing, dtype=np.float64)
    ext = np.floor(max_radius_mm / s).astype(np.int64)
    lo = np.maximum(seed - ext, 0)
    hi = np.minimum(seed + ext + 1, np.asarray(hu.shape))
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    crop_hu = hu[box]
    cand = (crop_hu >= lo_hu) & (crop_hu <= hi_hu)
    cand &= lung_labels[box] > 0
    cz = ((np.arange(lo[0], hi[0]) - seed[0]) * s[0])[:, None, None]
    cy = ((np.arange(lo[1], hi[1]) - seed[1]) * s[1])[None, :, None]
    cx = ((np.arange(lo[2], hi[2]) - seed[2]) * s[2])[None, None, :]
    cand &= cz**2 + cy**2 + cx**2 <= max_radius_mm * max_radius_mm + EPS_MM2
    local_seed = tuple(int(v) for v in seed - lo)
    if not cand[local_seed]:
        return EMPTY_INDICES
    lab, _ = ndimage.label(cand, structure=_STRUCTURES[GROW_CONNECTIVITY])
    return flat_indices(lab == lab[local_seed], lo, hu.shape)


def lesion_components(
    lesion_labels: NDArray[np.uint8],
) -> tuple[NDArray[np.int32], int, tuple[int, int, int]] | None:
    """26-connected components of lesion > 0 (GGO and solid together) inside the lesions'
    bounding box: (component labels of the box, number of components, the box's (z, y, x)
    origin), or None without any lesion."""
    any_lesion = lesion_labels > 0
    box = nonzero_box(any_lesion)
    if box is None:
        return None
    lab, n = ndimage.label(any_lesion[box], structure=_STRUCTURES[ISLAND_CONNECTIVITY])
    return lab, int(n), (box[0].start, box[1].start, box[2].start)


def lesion_component_at(lesion_labels: NDArray[np.uint8], seed_zyx: ArrayLike) -> NDArray[np.int64]:
    """Flat indices of the lesion (GGO and solid together, 26-connected) under ``seed_zyx``.

    Empty when the seed is outside the volume or on a voxel with no lesion. The component is
    labelled in a box around the seed whose faces move out (by doubling steps) while the
    component touches them, so a click on a small lesion does not label the whole scan.
    """
    seed = _seed_index(seed_zyx, lesion_labels.shape)
    if seed is None or lesion_labels[tuple(seed)] == 0:
        return EMPTY_INDICES
    shape = np.asarray(lesion_labels.shape)
    step = 16
    lo = np.maximum(seed - step, 0)
    hi = np.minimum(seed + step + 1, shape)
    while True:
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        lab, _ = ndimage.label(lesion_labels[box] > 0, structure=_STRUCTURES[ISLAND_CONNECTIVITY])
        comp = lab == lab[tuple(seed - lo)]
        grown = False
        step *= 2
        # Push out only the faces the component touches (and that are not the volume's edge).
        for ax in range(3):
            if lo[ax] > 0 and np.take(comp, 0, axis=ax).any():
                lo[ax], grown = max(lo[ax] - step, 0), True
            if hi[ax] < shape[ax] and np.take(comp, -1, axis=ax).any():
                hi[ax], grown = min(hi[ax] + step, shape[ax]), True
        if not grown:
            return flat_indices(comp, lo, lesion_labels.shape)


def all_but_largest_component(lesion_labels: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Flat indices of every lesion voxel outside the largest 26-connected lesion.

    With ties the component found first in (z, y, x) scan order is kept.
    """
    comps = lesion_components(lesion_labels)
    if comps is None or comps[1] <= 1:
        return EMPTY_INDICES
    lab, _, lo = comps
    sizes = np.bincount(lab.reshape(-1))
    sizes[0] = 0
    largest = int(np.argmax(sizes))
    return flat_indices((lab > 0) & (lab != largest), lo, lesion_labels.shape)


def components_smaller_than(lesion_labels: NDArray[np.uint8], min_voxels: float) -> NDArray[np.int64]:
    """Flat indices of every 26-connected lesion with fewer than ``min_voxels`` voxels."""
    comps = lesion_components(lesion_labels)
    if comps is None:
        return EMPTY_INDICES
    lab, _, lo = comps
    sizes = np.bincount(lab.reshape(-1))
    small = np.flatnonzero(sizes < min_voxels)
    small = small[small > 0]
    if small.size == 0:
        return EMPTY_INDICES
    # Small components live in small boxes: gather each in its own box rather than indexing
    # the whole (possibly lung-sized) label image.
    objects = ndimage.find_objects(lab)
    parts = []
    for i in small:
        box = objects[i - 1]
        sub_lo = [lo[a] + box[a].start for a in range(3)]
        parts.append(flat_indices(lab[box] == i, sub_lo, lesion_labels.shape))
    return np.sort(np.concatenate(parts))


def nearest_label(
    labels: NDArray[np.uint8], point_zyx: ArrayLike, spacing: Sequence[float]
) -> int:
    """Label of the labelled (non-zero) voxel nearest to ``point_zyx`` (mm distance); 0 if none.

    Searches growing boxes around the point (10 mm, 40 mm, then the whole volume), so a click next
    to a lung costs a small crop, not a scan of the volume.
    """
    p = np.asarray(point_zyx, dtype=np.float64).reshape(3)
    s = np.asarray(spacing, dtype=np.float64)
    shape = np.asarray(labels.shape)
    for reach_mm in (10.0, 40.0, np.inf):
        if np.isfinite(reach_mm):
            ext = np.ceil(reach_mm / s).astype(np.int64)
            c = round_index(p)
            lo = np.clip(c - ext, 0, shape)
            hi = np.clip(c + ext + 1, 0, shape)
        else:
            lo, hi = np.zeros(3, dtype=np.int64), shape
        if np.any(hi <= lo):
            continue
        crop = labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        coords = np.argwhere(crop > 0)
        if coords.size == 0:
            continue
        d2 = (((coords + lo - p) * s) ** 2).sum(axis=1)
        j = int(np.argmin(d2))
        # Inside the box only voxels within reach are certainly the nearest overall.
        if d2[j] <= reach_mm * reach_mm:
            return int(crop[tuple(coords[j])])
    return 0
