"""Placing the lung surface at the half-way HU between the lung and what lies outside it.

A fixed threshold puts the edge of aerated lung (~-850 HU) against the chest wall (~+40 HU) at the
right place only by luck, and puts the edge of ground glass or consolidation against the wall in
the wrong place. Here every voxel on the lung surface (one voxel in, one voxel out) is compared
with a *local* threshold: the mean of the lung interior nearby and the soft tissue nearby, halved
(the classic half-maximum edge, where partial volume crosses 50 %).

On a coarse working grid the decision is made per voxel; at full resolution every voxel of a
coarse surface block is decided with its block's threshold, so only the surface is visited.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.segment.coarse_grid import CoarseGrid
from quant.voxel_box import padded_box

__all__ = ["refine_edges"]

# Soft tissue HU used when no soft tissue is near (e.g. the lung touches the volume edge).
_SOFT_TISSUE_HU = 40.0
# Voxels counted as "soft tissue outside the lung" for the local reference (HU range).
_TISSUE_RANGE_HU = (-200.0, 250.0)
_WINDOW = 5  # voxels, local-mean window edge
# Local lung interior denser than this (HU) is airless: its surface is not refined.
_AIRLESS_HU = -500.0


def refine_edges(
    labels: NDArray[np.uint8],
    hu_c: NDArray[np.int16],
    grid: CoarseGrid,
    hu_full: NDArray[np.int16],
    *,
    outside: NDArray[np.bool_],
    blocked: NDArray[np.bool_],
    max_hu: float,
) -> NDArray[np.uint8]:
    """Full-resolution lung labels (uint8, z/y/x) with the surface moved to the half-way HU.

    Args:
        labels: coarse lung labels (1 right, 2 left) on ``grid``.
        hu_c: HU sampled on the coarse grid.
        grid: the coarse grid; identity for volumes already at working resolution.
        hu_full: the full-resolution HU volume.
        outside: coarse mask of air outside the patient.
        blocked: coarse mask the lung may never grow into (bone, airway lumen and wall).
        max_hu: no voxel denser than this (HU) is lung at the surface.
    """
    lung = labels > 0
    box = padded_box(lung, _WINDOW)
    lab = labels[box]
    hu = hu_c[box]
    lung_b = lung[box]
    interior = ndimage.binary_erosion(lung_b, border_value=1)
    grown = ndimage.binary_dilation(lung_b)
    inner = lung_b & ~interior
    outer = grown & ~lung_b & ~outside[box] & ~blocked[box]
    edge = inner | outer
    thr, lung_ref = _local_threshold(hu, interior, lung_b, grown, edge, max_hu)
    # Where the lung next to the surface is airless (consolidation against the wall), there is no
    # lung/wall HU step to find: the coarse surface stands.
    edge &= lung_ref < _AIRLESS_HU
    # Label an outer voxel takes if it joins: that of an adjacent lung voxel.
    near = ndimage.grey_dilation(lab, size=(3, 3, 3))
    edge_label = np.where(lung_b, lab, near)[edge]
    thr_e = thr[edge]
    out_c = labels.copy()
    if grid.is_identity:
        sub = out_c[box]
        sub[edge] = np.where(hu[edge] < thr_e, edge_label, 0)
        return out_c
    full = grid.upsample(out_c)
    # Coarse flat indices of the edge blocks, in the full coarse array.
    zz, yy, xx = np.nonzero(edge)
    coarse_flat = np.ravel_multi_index(
        (zz + box[0].start, yy + box[1].start, xx + box[2].start), grid.shape
    )
    full_idx, owner = grid.block_indices(coarse_flat)
    values = hu_full.reshape(-1)[full_idx]
    full.reshape(-1)[full_idx] = np.where(values < thr_e[owner], edge_label[owner], 0).astype(np.uint8)
    return full


def _local_threshold(
    hu: NDArray[np.int16],
    interior: NDArray[np.bool_],
    lung: NDArray[np.bool_],
    grown: NDArray[np.bool_],
    edge: NDArray[np.bool_],
    max_hu: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Half-way HU between the local lung interior and the local soft tissue, and the local lung
    interior HU (both float32)."""
    huf = hu.astype(np.float32)
    tissue = ~grown & (huf > _TISSUE_RANGE_HU[0]) & (huf < _TISSUE_RANGE_HU[1])
    lung_ref = _masked_mean(huf, interior, fallback=_masked_mean(huf, lung, fallback=None))
    wall_ref = _masked_mean(huf, tissue, fallback=np.float32(_SOFT_TISSUE_HU))
    thr = 0.5 * (lung_ref + wall_ref)
    np.minimum(thr, np.float32(max_hu), out=thr)
    return thr, lung_ref


def _masked_mean(values: NDArray[np.float32], mask: NDArray[np.bool_], fallback) -> NDArray[np.float32]:
    m = mask.astype(np.float32)
    count = ndimage.uniform_filter(m, _WINDOW)
    total = ndimage.uniform_filter(values * m, _WINDOW)
    ok = count > 1e-3
    mean = np.divide(total, count, out=np.zeros_like(total), where=ok)
    if fallback is None:
        return mean
    return np.where(ok, mean, fallback).astype(np.float32)
