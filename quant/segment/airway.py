"""Trachea and main-bronchus detection, so that the lung mask can exclude them.

Works on a (z, y, x) HU array (usually the coarse grid of :mod:`quant.segment.coarse_grid`). The trachea is the
air tube that runs down the mediastinum from the superior end of the thorax: it is seeded by a
small, central air region in the most superior slices that hold air inside the body, then grown in
3-D through voxels below ``airway_threshold_hu`` (airway lumen is ~-1000 HU, aerated parenchyma is
denser, so growth stays in the lumen). The threshold is then raised step by step while the airway
grows smoothly; a jump in volume (a leak into the parenchyma) keeps the previous threshold. The
main bronchi are reached through the carina by the same growth.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["find_airway"]

# Airway lumen sizes (mm², mL): a trachea is 1.5-2.5 cm wide; trachea + main bronchi < ~100 mL.
_MIN_TRACHEA_AREA_MM2 = 30.0
_MAX_TRACHEA_AREA_MM2 = 1200.0
_MAX_AIRWAY_ML = 150.0
_SEED_SEARCH_MM = 40.0
_RAISE_STEP_HU = 15.0
_MAX_RAISE_HU = 45.0
_LEAK_RATIO = 1.5
# Box searched for the airway around the tracheal seed (mm): trachea + bronchi fit easily.
_BOX_DEPTH_MM = 220.0
_BOX_HALF_WIDTH_MM = 90.0


def find_airway(
    hu: NDArray[np.int16],
    internal_air: NDArray[np.bool_],
    spacing: tuple[float, float, float],
    airway_threshold_hu: float,
    superior_is_last: bool = True,
) -> NDArray[np.bool_]:
    """Boolean mask of the trachea and main bronchi (empty when none is found).

    Args:
        hu: (z, y, x) HU values.
        internal_air: (z, y, x) air below the lung threshold that is inside the body.
        spacing: (z, y, x) voxel size in mm.
        airway_threshold_hu: lumen threshold (HU) for the 3-D growth.
        superior_is_last: True when the highest z index is the most superior slice.
    """
    full_seed = _trachea_seed(internal_air, spacing, superior_is_last)
    out = np.zeros(hu.shape, dtype=bool)
    if full_seed is None:
        return out
    # The trachea and main bronchi lie within a box around the seed: work there only.
    box = _airway_box(full_seed, spacing, superior_is_last)
    seed, hu, internal_air = full_seed[box], hu[box], internal_air[box]
    out[box] = _grow(seed, hu, internal_air, spacing, airway_threshold_hu)
    return out


def _airway_box(seed: NDArray[np.bool_], spacing, superior_is_last: bool) -> tuple[slice, slice, slice]:
    zs, ys, xs = np.nonzero(seed)
    reach = [int(np.ceil(_BOX_DEPTH_MM / spacing[0]))] + [int(np.ceil(_BOX_HALF_WIDTH_MM / s)) for s in spacing[1:]]
    if superior_is_last:
        z = slice(max(int(zs.max()) - reach[0], 0), int(zs.max()) + 1)
    else:
        z = slice(int(zs.min()), int(zs.min()) + reach[0] + 1)
    cy, cx = int(np.median(ys)), int(np.median(xs))
    return z, slice(max(cy - reach[1], 0), cy + reach[1] + 1), slice(max(cx - reach[2], 0), cx + reach[2] + 1)


def _grow(
    seed: NDArray[np.bool_],
    hu: NDArray[np.int16],
    internal_air: NDArray[np.bool_],
    spacing: tuple[float, float, float],
    airway_threshold_hu: float,
) -> NDArray[np.bool_]:
    voxel_ml = float(np.prod(spacing)) / 1000.0
    # Partial volume narrows the lumen on coarse grids, so the threshold is raised step by step
    # (towards the parenchyma) for as long as the airway grows smoothly; a jump means a leak into
    # the lung, and the previous threshold is kept.
    best = seed
    previous = 0
    threshold = airway_threshold_hu
    while threshold <= airway_threshold_hu + _MAX_RAISE_HU:
        lumen = (internal_air & (hu < threshold)) | seed
        labels, _n = ndimage.label(lumen)
        ids = np.unique(labels[seed])
        airway = np.isin(labels, ids[ids > 0])
        size = int(airway.sum())
        if size * voxel_ml > _MAX_AIRWAY_ML or (previous and size > _LEAK_RATIO * previous):
            break
        best, previous = airway, size
        threshold += _RAISE_STEP_HU
    return best


def _trachea_seed(
    internal_air: NDArray[np.bool_], spacing: tuple[float, float, float], superior_is_last: bool
) -> NDArray[np.bool_] | None:
    """Mask of the trachea cross-sections in the top slices, or None."""
    zs = np.flatnonzero(internal_air.any(axis=(1, 2)))
    if zs.size == 0:
        return None
    n_search = max(2, int(round(_SEED_SEARCH_MM / spacing[0])))
    order = zs[::-1] if superior_is_last else zs
    search = order[:n_search]
    body_x = np.flatnonzero(internal_air.any(axis=(0, 1)))
    centre_x = 0.5 * (body_x.min() + body_x.max())
    half_width = 0.5 * (body_x.max() - body_x.min() + 1)
    pixel_mm2 = spacing[1] * spacing[2]
    seed = np.zeros(internal_air.shape, dtype=bool)
    found = 0
    for z in search:
        labels, n = ndimage.label(internal_air[z])
        if n == 0:
            continue
        areas = np.bincount(labels.ravel())[1:] * pixel_mm2
        cx = ndimage.mean(np.broadcast_to(np.arange(labels.shape[1]), labels.shape), labels, np.arange(1, n + 1))
        best = None
        for i in range(n):
            if not (_MIN_TRACHEA_AREA_MM2 <= areas[i] <= _MAX_TRACHEA_AREA_MM2):
                continue
            offset = abs(cx[i] - centre_x)
            # The trachea sits on the midline; lung apices are lateral.
            if offset > 0.25 * half_width:
                continue
            if best is None or offset < best[0]:
                best = (offset, i + 1)
        if best is not None:
            seed[z] = labels == best[1]
            found += 1
    return seed if found else None
