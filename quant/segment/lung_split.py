"""Split a lung mask into right and left lung, even where they touch (anterior junction).

Two lungs that touch form one air component. Eroding it a few voxels at a time separates them at
the thin junction; the two largest eroded parts are seeds and every voxel of the original mask
goes to its nearest seed. Sides are assigned from the patient LPS x of each part's centroid
(patient left = +x).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.labels import LEFT_LUNG, RIGHT_LUNG
from quant.segment.coarse_grid import CoarseGrid
from quant.volume import Volume

__all__ = ["split_lungs"]

# A part is a lung only when it holds at least this share of the mask after erosion.
_MIN_PART_SHARE = 0.1
_MAX_EROSIONS = 12


def split_lungs(mask: NDArray[np.bool_], volume: Volume, grid: CoarseGrid) -> NDArray[np.uint8]:
    """Label map (uint8: 1 right, 2 left) of the lung mask ``mask`` on ``grid``'s coarse grid.

    ``volume`` gives the patient geometry (to tell left from right).
    """
    labels, n = ndimage.label(mask)
    if n >= 2:
        parts = [labels == i for i in (1, 2)]
    else:
        parts = _split_by_erosion(mask)
    out = np.zeros(mask.shape, dtype=np.uint8)
    if len(parts) == 1:
        side = _side(parts[0], volume, grid, reference_x=_body_centre_x(volume, grid))
        out[parts[0]] = side
        return out
    x0 = _lps_x(parts[0], volume, grid)
    x1 = _lps_x(parts[1], volume, grid)
    left, right = (parts[0], parts[1]) if x0 > x1 else (parts[1], parts[0])
    out[right] = RIGHT_LUNG
    out[left] = LEFT_LUNG
    return out


def _split_by_erosion(mask: NDArray[np.bool_]) -> list[NDArray[np.bool_]]:
    """Two parts of a single component split at its narrowest junction, or ``[mask]``."""
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    sub = mask[box]
    eroded = sub
    for _ in range(_MAX_EROSIONS):
        eroded = ndimage.binary_erosion(eroded)
        labels, n = ndimage.label(eroded)
        if n < 2:
            if n == 0:
                break
            continue
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        a, b = np.argsort(sizes)[::-1][:2]
        if sizes[b] >= _MIN_PART_SHARE * sizes[a]:
            seeds = np.zeros(sub.shape, dtype=np.uint8)
            seeds[labels == a] = 1
            seeds[labels == b] = 2
            # Nearest seed for every mask voxel (the junction is cut half-way).
            _, idx = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
            nearest = seeds[tuple(idx)]
            parts = []
            for k in (1, 2):
                full = np.zeros(mask.shape, dtype=bool)
                full[box] = sub & (nearest == k)
                parts.append(full)
            return parts
    return [mask]


def _lps_x(part: NDArray[np.bool_], volume: Volume, grid: CoarseGrid) -> float:
    # Centroid from the three axis profiles (cheaper than ndimage.center_of_mass on big masks).
    centre = np.array([
        np.average(np.arange(part.shape[a]), weights=part.sum(axis=tuple(b for b in range(3) if b != a)))
        for a in range(3)
    ])
    full_index = centre * np.array(grid.factors) + np.array(grid.factors) // 2
    return float(volume.index_to_lps(full_index)[0, 0])


def _body_centre_x(volume: Volume, grid: CoarseGrid) -> float:
    centre = (np.array(volume.shape) - 1) / 2.0
    return float(volume.index_to_lps(centre)[0, 0])


def _side(part: NDArray[np.bool_], volume: Volume, grid: CoarseGrid, reference_x: float) -> int:
    return LEFT_LUNG if _lps_x(part, volume, grid) > reference_x else RIGHT_LUNG
