"""Adding airless lung (consolidation, atelectasis, tumour) back into an aerated-lung mask.

An air threshold finds aerated lung only. Lung that lost its air is as dense as the chest wall,
heart or liver (+20..+50 HU), so HU cannot say where it ends: anatomy must. Airless tissue is
added to a lung (per lung, on the coarse grid) when it is a *candidate* and the aerated lung
surrounds it in one of three ways:

* **enclosed in 3-D**: a hole of the lung (a nodule, a vessel, a consolidated core);
* **in a notch**: inside the morphological closing of the lung with a ball of ``notch_mm``
  (a juxtapleural nodule or subpleural patch narrower than about twice that), except in the
  mediastinal band between the two lungs near the main bronchi, where the notches are the hila
  (vessels, nodes);
* **walled in**: aerated lung lies within ``enclosure_mm`` both above *and* below it, and in at
  least three of the four in-plane directions (a tumour or consolidation surrounded by lung on all
  sides but the pleura or mediastinum it touches), and the walled-in tissue is thick enough for a
  ball of ``enclosure_min_radius_mm`` (a mass, not a hilar vessel or the rim of the aortic arch).
  A second pass also accepts tissue walled in by the first pass's additions (the hilar part of a
  mass whose lower part the lung walls in). Organs next to the lung fail the test: the liver and
  heart have no lung below them, the aorta, oesophagus and spine continue above and below.

Candidates are voxels denser than aerated lung that are not fat, bone, airway or hilum and not
outside the body. Fat (``fat_min_hu``..``fat_max_hu``, on the block mean *and* its in-plane 3×3
mean, so the partial-volume rim between lung and soft tissue is not taken for fat) is never lung
unless the lung encloses it completely: subcutaneous, extrapleural, mediastinal and pericardial fat
lie next to every lung. Each addition must connect to its lung.

Limits: airless lung that touches the chest wall over a broad front and is not walled in by
aerated lung (a large dependent consolidation or a collapsed lobe, with no aerated lung below it)
is only added as far as the notch closing reaches; lung below the lowest aerated slice is not
added; pathology at the lung apex (no lung above it) or on the diaphragm (none below) is added only
where it is enclosed or in a notch (:mod:`quant.segment.wall_gap` adds the layers along the ribs);
partially aerated lung at fat HU (-190..-30: the halo of a mass, organising consolidation) is taken
for fat unless enclosed. These are left to the reader's correction tools.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import near, opening
from quant.voxel_box import padded_box

__all__ = ["include_pathology", "fat_mask", "walled_in", "mediastinal_band", "low_x_label"]

_WALLED_PASSES = 2


def fat_mask(hu: NDArray[np.float32], fat_min_hu: float, fat_max_hu: float) -> NDArray[np.bool_]:
    """Fat voxels (bool, z/y/x): HU and its in-plane 3×3 mean both in ``fat_min_hu``..``fat_max_hu``.

    The in-plane mean keeps partial-volume voxels at lung/soft-tissue edges (which pass through the
    fat band) out; it is in-plane so thick slices do not mix lung above with tissue below.
    """
    smooth = ndimage.uniform_filter(hu, size=(1, 3, 3))
    return (hu >= fat_min_hu) & (hu <= fat_max_hu) & (smooth >= fat_min_hu) & (smooth <= fat_max_hu)


def walled_in(mask: NDArray[np.bool_], spacing: tuple[float, float, float], reach_mm: float) -> NDArray[np.bool_]:
    """Voxels with ``mask`` within ``reach_mm`` above and below (axis 0), and in at least three of
    the four in-plane directions (±y, ±x). Distances along the axes, in mm."""
    in_plane = np.zeros(mask.shape, dtype=np.uint8)
    both_z = None
    for axis in range(3):
        n = mask.shape[axis]
        reach = reach_mm / spacing[axis]
        shape = [1, 1, 1]
        shape[axis] = n
        idx = np.arange(n, dtype=np.float32).reshape(shape)
        ahead = np.where(mask, idx, np.float32(np.inf))
        # index of the nearest mask voxel at or after / at or before each voxel along the axis
        nxt = np.flip(np.minimum.accumulate(np.flip(ahead, axis), axis=axis), axis)
        del ahead
        prv = np.maximum.accumulate(np.where(mask, idx, np.float32(-np.inf)), axis=axis)
        forward = (nxt - idx) <= reach
        backward = (idx - prv) <= reach
        if axis == 0:
            both_z = forward & backward
        else:
            in_plane += forward.view(np.uint8)
            in_plane += backward.view(np.uint8)
    assert both_z is not None
    return both_z & (in_plane >= 3)


def low_x_label(labels: NDArray[np.uint8]) -> int:
    """The lung label (1 or 2) that lies at the lower x index (1, the right lung, for the usual
    orientation where x increases towards the patient's left)."""
    x = np.arange(labels.shape[2])
    per_x = [np.count_nonzero(labels == side, axis=(0, 1)) for side in (1, 2)]
    means = [float((c * x).sum() / c.sum()) if c.sum() else np.nan for c in per_x]
    if np.isnan(means[0]) or np.isnan(means[1]):
        return 1
    return 1 if means[0] <= means[1] else 2


def mediastinal_band(labels: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Voxels between the two lungs on their row: beyond the most medial voxel of the lung on the
    low-x side and before the most medial voxel of the other lung, on the same (z, y) row (the
    mediastinum and hila). Empty on rows that do not hold both lungs."""
    nx = labels.shape[2]
    x = np.arange(nx, dtype=np.int32).reshape(1, 1, -1)
    low = low_x_label(labels)
    low_lung = labels == low
    high_lung = labels == (3 - low)
    low_edge = np.max(np.where(low_lung, x, -1), axis=2, keepdims=True)
    high_edge = np.min(np.where(high_lung, x, nx), axis=2, keepdims=True)
    both = (low_edge >= 0) & (high_edge < nx)
    return both & (x > low_edge) & (x < high_edge)


def include_pathology(
    labels: NDArray[np.uint8],
    hu: NDArray[np.float32],
    *,
    blocked: NDArray[np.bool_],
    fat: NDArray[np.bool_],
    spacing: tuple[float, float, float],
    air_threshold_hu: float,
    notch_mm: float,
    enclosure_mm: float,
    enclosure_min_radius_mm: float,
    hila: NDArray[np.bool_] | None = None,
) -> NDArray[np.uint8]:
    """Lung labels (uint8, 1 right / 2 left, z/y/x) with airless lung added (see the module docstring).

    Args:
        labels: aerated-lung labels on the coarse grid.
        hu: HU (block means) on the same grid.
        blocked: voxels that are never lung (outside the body, bone, airway and its wall, hilum).
        spacing: (z, y, x) mm of the grid.
        fat: fat-band voxels (:func:`fat_mask`) on the same grid.
        air_threshold_hu: aerated-lung threshold (HU); candidates are at or above it.
        notch_mm: radius (mm) of the closing ball.
        hila: where the hila are (near the main bronchi); notches there, between the lungs, are
            not filled. None: the whole mediastinal band counts (no airway found).
        enclosure_mm: reach (mm) of the walled-in test.
        enclosure_min_radius_mm: walled-in tissue is added only where a ball of this radius (mm)
            fits into it (hilar vessels and the rim of the aortic arch are thinner).
    """
    out = labels.copy()
    medial = mediastinal_band(labels)
    if hila is not None:
        medial &= hila
    margin = [int(np.ceil(notch_mm / s)) + 2 for s in spacing]
    for side in (1, 2):
        mask = labels == side
        if not mask.any():
            continue
        box = padded_box(mask, margin)
        m = mask[box]
        h = hu[box]
        candidate = (h >= air_threshold_hu) & ~blocked[box] & ~fat[box]
        add = ndimage.binary_fill_holes(m)
        # The hila are notches of the lung's medial surface: they hold vessels and nodes.
        add |= candidate & ~medial[box] & ~near(~near(m, notch_mm, spacing), notch_mm, spacing)
        # Walled-in tissue, in two passes: tissue walled in by lung and by the first pass's
        # additions (the upper part of a mass whose lower part the lung walls in).
        base = m
        for _ in range(_WALLED_PASSES):
            walled = candidate & walled_in(base, spacing, enclosure_mm)
            add |= opening(walled, enclosure_min_radius_mm, spacing)
            base = m | add
        add &= ~m
        # Keep only additions connected to this lung.
        comp, _n = ndimage.label(m | add)
        touching = np.zeros(int(comp.max()) + 1, dtype=bool)
        touching[np.unique(comp[m])] = True
        touching[0] = False
        add &= touching[comp]
        target = out[box]
        target[add & (target == 0)] = side
    return out
