"""Adding dense pathology (consolidation, vessels, subpleural opacities) back into the lung mask.

An air threshold keeps only aerated lung. Lung tissue that lost its air is added back in three ways
(all on the coarse grid, per lung label):

* **dense pathology grown from the pleura**: voxels inside the body that are denser than air but
  less dense than soft tissue (smoothed HU below ``pathology_max_hu``), not bone, not airway, at
  most ``pleural_closing_mm`` from aerated lung and connected to it. A one-voxel opening first
  removes the thin partial-volume rim at the lung/chest-wall edge, so the lung does not grow by a
  voxel everywhere while thick consolidation survives.
* **3-D holes** of each lung (anything the lung encloses completely) are filled.
* **small, thin per-slice holes** (vessels crossing the slice: up to ``_MAX_SLICE_HOLE_MM2`` and
  no thicker than a vessel) are filled. Large or thick per-slice holes are not: at the lung base
  the lung rings the diaphragm dome, whose section is a large 2-D hole of liver or spleen, and the
  hilar soft tissue around a bronchus is a thick one.

Finally the airway (lumen and wall) is removed again.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import near

__all__ = ["include_pathology"]

_MAX_SLICE_HOLE_MM2 = 300.0
# Pulmonary vessels are at most this thick (radius, mm); thicker per-slice holes are not vessels.
_MAX_VESSEL_RADIUS_MM = 5.5
_SLICE_STRUCTURE = np.array(
    [np.zeros((3, 3), bool), ndimage.generate_binary_structure(2, 1), np.zeros((3, 3), bool)]
)


def include_pathology(
    labels: NDArray[np.uint8],
    hu: NDArray[np.int16],
    *,
    air: NDArray[np.bool_],
    outside: NDArray[np.bool_],
    airway: NDArray[np.bool_],
    bone: NDArray[np.bool_],
    spacing: tuple[float, float, float],
    pathology_max_hu: float,
    max_depth_mm: float,
) -> NDArray[np.uint8]:
    """Lung labels (uint8, 1 right / 2 left) with dense pathology added, on the (z, y, x) grid.

    Args:
        labels: aerated-lung labels.
        hu: HU on the same grid.
        air, outside, airway, bone: boolean masks on the same grid (air below the lung threshold,
            air outside the patient, airway lumen and wall, bone).
        spacing: (z, y, x) mm.
        pathology_max_hu: upper HU bound (after 3×3×3 smoothing) of pathologic lung tissue.
        max_depth_mm: how far (mm) dense tissue may lie from aerated lung and still be lung.
    """
    box = _bbox(labels > 0, margin=int(np.ceil(max_depth_mm / min(spacing))) + 2)
    lab = labels[box]
    sub_hu = hu[box]
    wall = airway[box]
    smooth = ndimage.uniform_filter(sub_hu.astype(np.float32), size=3)
    dense = (smooth < pathology_max_hu) & ~air[box] & ~outside[box] & ~bone[box] & ~wall
    dense = ndimage.binary_opening(dense)
    dense &= near(lab > 0, max_depth_mm, spacing)
    out_lab = _attach(lab, dense)
    for side in (1, 2):
        mask = out_lab == side
        if not mask.any():
            continue
        # Work in this lung's own bounding box (+1 voxel so the outside touches the box border).
        own = _bbox(mask, margin=1)
        sub = mask[own]
        sub = _fill_3d_holes(sub)
        erosions = max(1, int(round(_MAX_VESSEL_RADIUS_MM / min(spacing[1:]))))
        sub = _fill_small_slice_holes(sub, spacing[1] * spacing[2], erosions)
        target = out_lab[own]
        target[sub & (target == 0)] = side
    out_lab[wall] = 0
    out = np.zeros_like(labels)
    out[box] = out_lab
    return out


def _attach(lab: NDArray[np.uint8], dense: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """Lung labels plus the dense components touching a lung, each given that lung's label.

    A dense component touching both lungs (rare: they are kept apart by the mediastinum) is split
    by nearest aerated voxel.
    """
    comp, n = ndimage.label((lab > 0) | dense)
    right = np.bincount(comp[lab == 1], minlength=n + 1) > 0
    left = np.bincount(comp[lab == 2], minlength=n + 1) > 0
    side = np.where(right & ~left, 1, np.where(left & ~right, 2, 0)).astype(np.uint8)
    side[0] = 0
    out = np.where(lab > 0, lab, side[comp]).astype(np.uint8)
    both = right & left
    both[0] = False
    shared = both[comp] & (lab == 0) if both.any() else None
    if shared is not None and shared.any():
        # Nearest aerated voxel, searched in the box of the shared voxels only (chamfer metric).
        box = _bbox(shared, margin=8)
        _, idx = ndimage.distance_transform_cdt(lab[box] == 0, metric="chessboard", return_indices=True)
        sub_shared = shared[box]
        nearest = lab[box][tuple(i[sub_shared] for i in idx)]
        target = out[box]
        target[sub_shared] = nearest
    return out


def _bbox(mask: NDArray[np.bool_], margin: int) -> tuple[slice, slice, slice]:
    sl = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        lo = max(int(hit[0]) - margin, 0)
        hi = min(int(hit[-1]) + margin + 1, mask.shape[axis])
        sl.append(slice(lo, hi))
    return tuple(sl)  # type: ignore[return-value]


def _fill_3d_holes(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``mask`` plus every background region that does not reach the array border."""
    background, n = ndimage.label(~mask)
    if n <= 1:
        return mask
    border = np.zeros(n + 1, dtype=bool)
    for axis in range(3):
        for end in (0, -1):
            border[np.unique(np.take(background, end, axis=axis))] = True
    border[0] = True
    return mask | ~border[background]


def _fill_small_slice_holes(mask: NDArray[np.bool_], pixel_mm2: float, erosions: int) -> NDArray[np.bool_]:
    """Fill per-axial-slice holes up to ``_MAX_SLICE_HOLE_MM2``; slices are labelled in one call."""
    background, n = ndimage.label(~mask, structure=_SLICE_STRUCTURE)
    if n == 0:
        return mask
    border = np.zeros(n + 1, dtype=bool)
    for axis in (1, 2):
        for end in (0, -1):
            border[np.unique(np.take(background, end, axis=axis))] = True
    border[0] = True
    areas = np.bincount(background.ravel(), minlength=n + 1) * pixel_mm2
    small = ~border & (areas <= _MAX_SLICE_HOLE_MM2)
    holes = small[background]
    # A vessel crossing the slice is thin; a hole with a thick core is hilar soft tissue (or
    # another organ) and stays out.
    core = ndimage.binary_erosion(holes, structure=_SLICE_STRUCTURE, iterations=erosions)
    if core.any():
        thick = np.zeros(n + 1, dtype=bool)
        thick[np.unique(background[core])] = True
        holes &= ~thick[background]
    return mask | holes
