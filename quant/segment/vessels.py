"""Pulmonary vessels on the lesion detection grid: dense blood and bright ridges.

Vessels lie in the lesion HU bands, so the lesion segmentation must recognise them. A vessel wider
than a few voxels reaches blood density (``vessel_min_hu``), but a vessel about one voxel wide
does not: partial volume with the aerated lung around it puts its centre line at ground-glass or
solid-band HU (on a 2.7 mm grid a 3 mm vessel peaks near -400 HU). What gives it away is shape,
not density: its centre line is a *ridge*, brighter than both neighbours across the vessel.

A voxel is a ridge voxel when, along at least :data:`_MIN_RIDGE_DIRECTIONS` of the 13 lines
through its 26-neighbourhood, it is brighter than *both* neighbours on that line by
``vessel_ridge_hu``. Ground glass is a plateau (its texture varies slowly, far less than that
contrast between neighbours) and a lesion edge has a brighter neighbour on its inner side, so
neither is a ridge; a tube is a ridge along every line that crosses it. Ridge voxels of the vessel
tree connect into long chains; isolated ridge voxels (fewer than :data:`_MIN_RIDGE_VOXELS`
connected) are texture or noise peaks inside a lesion and are ignored.

Blood density alone does not make a vessel: airless lung (dense consolidation, +20..+50 HU on real
CT) is just as dense. Dense voxels are vessel only where the dense structure is thin: those that a
ball of ``vessel_max_diameter_mm`` fits into (a morphological opening; the pleural side counts as
dense, so a subpleural consolidation is not eroded from the chest wall) are consolidation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import opening
from quant.protocol import LesionParameters

__all__ = ["vessel_mask"]

# The 13 lines through a voxel's 26-neighbourhood (one direction of each opposite pair).
_LINES = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1) if (a, b, c) > (0, 0, 0)]
# A tube crosses most lines through its centre; noise in a plateau rarely makes a voxel brighter
# than both neighbours by the ridge contrast on more than one line.
_MIN_RIDGE_DIRECTIONS = 2
# Connected ridge voxels (26-connectivity, detection-grid voxels) needed to call it a vessel.
_MIN_RIDGE_VOXELS = 3
_CUBE = np.ones((3, 3, 3), dtype=bool)


def vessel_mask(
    hu: NDArray[np.float32],
    lung: NDArray[np.bool_],
    p: LesionParameters,
    spacing: tuple[float, float, float] | None = None,
) -> NDArray[np.bool_]:
    """Vessel voxels inside ``lung``: thin structures of HU >= ``vessel_min_hu``, or ridges of the
    vessel tree.

    Args:
        hu: mean HU on the detection grid, axis order (z, y, x).
        lung: lung voxels on the same grid (the lesion segmentation passes the lung interior: the
            pleural rim is partial volume with the chest wall).
        p: lesion parameters (``vessel_min_hu``, ``vessel_max_diameter_mm``, ``solid_min_hu``,
            ``vessel_ridge_hu``, ``ggo_min_hu``).
        spacing: (z, y, x) mm of the grid; None treats every dense voxel as vessel (no thickness
            test).
    """
    dense = lung & (hu >= p.vessel_min_hu)
    if spacing is not None and dense.any():
        # The ball must fit into the solid band or above (noise puts consolidation voxels below
        # blood HU, never below the solid band).
        solid = lung & (hu >= p.solid_min_hu)
        dense &= ~opening(solid | ~lung, 0.5 * p.vessel_max_diameter_mm, spacing, centres=solid)
    return dense | _ridges(hu, lung & (hu >= p.ggo_min_hu), p.vessel_ridge_hu)


def _ridges(hu: NDArray[np.float32], candidates: NDArray[np.bool_], contrast: float) -> NDArray[np.bool_]:
    """Candidate voxels brighter than both line neighbours by ``contrast`` (HU) on enough lines,
    in chains of at least :data:`_MIN_RIDGE_VOXELS`."""
    if not candidates.any():
        return candidates.copy()
    # Work in the candidates' bounding box, padded by one voxel (edge values: no ridge at a border).
    slices = []
    for axis in range(3):
        hit = np.flatnonzero(candidates.any(axis=tuple(a for a in range(3) if a != axis)))
        slices.append(slice(int(hit[0]), int(hit[-1]) + 1))
    box = tuple(slices)
    sub = hu[box]
    pad = np.pad(sub, 1, mode="edge")
    nz, ny, nx = sub.shape
    lowered = sub - np.float32(contrast)
    count = np.zeros(sub.shape, dtype=np.uint8)
    for a, b, c in _LINES:
        fwd = pad[1 + a:1 + a + nz, 1 + b:1 + b + ny, 1 + c:1 + c + nx]
        bwd = pad[1 - a:1 - a + nz, 1 - b:1 - b + ny, 1 - c:1 - c + nx]
        count += (lowered > np.maximum(fwd, bwd)).view(np.uint8)
    ridge_box = candidates[box] & (count >= _MIN_RIDGE_DIRECTIONS)
    labels, n = ndimage.label(ridge_box, structure=_CUBE)
    if n:
        sizes = np.bincount(labels.ravel())
        keep = sizes >= _MIN_RIDGE_VOXELS
        keep[0] = False
        ridge_box = keep[labels]
    out = np.zeros(candidates.shape, dtype=bool)
    out[box] = ridge_box
    return out
