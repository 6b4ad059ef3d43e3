"""Automatic ground-glass / solid lesion segmentation inside the lung mask.

Bands (HU) come from :class:`quant.protocol.LesionParameters`: ground glass ``ggo_min_hu`` ..
``ggo_max_hu``, solid ``solid_min_hu`` .. ``solid_max_hu`` (lower bound inclusive).

Two scales:

1. **Detection** on a ~2 mm grid of block means (averaging is the light smoothing; plus a Gaussian
   of ``smoothing_sigma_mm`` where the grid is finer than that). Only the lung interior is used,
   so the partial-volume rim at the pleura is not mistaken for ground glass.

   * Ground glass: band voxels that are not next to vessel blood (``vessel_min_hu``: the
     partial-volume shell of a vessel has ground-glass HU), kept where a ~5 mm ball fits (thin
     vessel tangles and noise do not; the pleural side does not erode, and within 8 mm of the
     pleura a ~4 mm ball is enough, for thin subpleural bands).
   * Solid: vessels are in the solid band too. A solid-band voxel is lesion when it lies in a blob
     thicker than ``vessel_max_diameter_mm`` (a morphological opening with a ball of that
     diameter, which no vessel survives) or within half that distance of ground glass (the solid
     core of a lesion is wrapped in ground glass; a vessel passing by contributes only a stub).
   * Components below ``min_component_ml`` are dropped.

2. **Delineation** at full resolution: lung voxels near a detection (grown through band voxels
   for as far as the opening may have shaved off, plus one block) take the band of their own HU,
   so the lesion edge is exact to the voxel. On the outermost lung layer (partial volume with the
   wall) only HU above ``_SURFACE_MIN_HU`` counts, or above ``_SURFACE_CAP_MIN_HU`` where the
   voxel caps lesion lying right below it (a subpleural patch reaches the pleura).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import near, opening
from quant.grid import coarse_grid
from quant.labels import GGO, SOLID, LesionMasks, LungMasks
from quant.protocol import LesionParameters, Protocol, default_protocol
from quant.volume import Volume

__all__ = ["segment_lesions", "LESION_GRID_MM"]

LESION_GRID_MM = 2.0
# Ground glass thinner than this radius (mm) is a vessel's partial-volume shell or noise.
_GGO_OPENING_MM = 5.0
_EXTRA_GROWTH = 0
# On the outermost lung voxel layer, parenchyma/wall partial volume reaches ground-glass HU; only
# voxels denser than this (HU) are taken as lesion there.
_SURFACE_MIN_HU = -450.0
# ... or denser than this (HU) where it caps lesion that lies right below it.
_SURFACE_CAP_MIN_HU = -520.0
# Within this distance (mm) of the pleura, ground glass only needs to survive a smaller opening.
_SUBPLEURAL_MM = 8.0
_GGO_SUBPLEURAL_OPENING_MM = 4.0
_CUBE = np.ones((3, 3, 3), dtype=bool)

Step = Callable[[float, str], None]


def segment_lesions(
    volume: Volume, lungs: LungMasks, protocol: Protocol | None = None, *, step: Step | None = None
) -> LesionMasks:
    """Ground-glass (label 1) and solid (label 2) lesions inside ``lungs``, axis order (z, y, x).

    Args:
        volume: CT volume in HU.
        lungs: lung labels on the volume's grid; lesions are only found inside them.
        protocol: HU bands, minimum component volume (mL), vessel diameter and smoothing (mm).
        step: optional ``step(fraction, text)`` progress/cancellation hook.
    """
    protocol = protocol or default_protocol()
    p = protocol.lesions
    if lungs.labels.shape != volume.shape:
        raise ValueError("lung labels must have the volume's shape (z, y, x)")
    out = np.zeros(volume.shape, dtype=np.uint8)
    lung_full = lungs.labels > 0
    if not lung_full.any():
        return LesionMasks(out)
    grid0 = coarse_grid(volume.shape, volume.spacing, LESION_GRID_MM)
    box = _aligned_bbox(lung_full, grid0.factors)
    hu = volume.hu[box]
    lung = lung_full[box]
    grid = coarse_grid(hu.shape, volume.spacing, LESION_GRID_MM)
    if step:
        step(0.1, "averaging on the detection grid")
    mean_hu = grid.block_mean(hu)
    sp = grid.spacing
    sigma = [p.smoothing_sigma_mm / s for s in sp]
    if max(sigma) >= 0.5:
        mean_hu = ndimage.gaussian_filter(mean_hu, sigma, truncate=2.5)
    lung_share = grid.block_mean(lung.view(np.uint8))
    inner = ndimage.binary_erosion(lung_share > 0.999, border_value=0)
    if step:
        step(0.4, "detecting ground glass and consolidation")
    ggo_c, solid_c = _detect(mean_hu, inner, lung_share > 0.5, sp, p)
    if step:
        step(0.7, "delineating lesions")
    any_c = ggo_c | solid_c
    if not any_c.any():
        return LesionMasks(out)
    # Delineation may reach as far as the ground-glass opening may have shaved off, through lung
    # in either band that is not a vessel's partial-volume shell, plus one block for the edge.
    lung_c = lung_share > 0.5
    band = lung_c & (mean_hu >= p.ggo_min_hu) & (mean_hu < p.solid_max_hu)
    band &= ~ndimage.binary_dilation(lung_c & (mean_hu >= p.vessel_min_hu), structure=_CUBE)
    steps = int(np.ceil(_GGO_OPENING_MM / float(np.mean(sp)))) + _EXTRA_GROWTH
    grown = ndimage.binary_dilation(any_c, iterations=steps, mask=band) | any_c
    # One upsampled code: bit 0 = lesion may be here, bit 1 = solid may be here.
    allow = ndimage.binary_dilation(grown).view(np.uint8) | (near(solid_c, 2.0 * max(sp), sp).view(np.uint8) << 1)
    allow = grid.upsample(allow)
    allow_any = (allow & 1).view(bool)
    allow_solid = allow >= 2
    sub = out[box]
    # Next to a lesion, a voxel in either band is lesion: ground glass unless it is in the solid
    # band next to detected solid (partial volume with the chest wall lifts ground glass into the
    # solid band at the pleura).
    in_bands = (hu >= p.ggo_min_hu) & (hu < p.solid_max_hu) & lung & allow_any
    # The outermost lung voxel layer is partial volume with the chest wall / mediastinum: there,
    # only ground glass denser than the partial-volume mix of parenchyma and soft tissue counts.
    interior = _interior(lung)
    surface = in_bands & ~interior
    in_bands &= interior
    # A surface voxel in the band is lesion when dense enough for partial volume not to explain
    # it, or when it caps lesion lying right below it (a subpleural patch reaches the pleura).
    in_bands |= surface & ((hu >= _SURFACE_MIN_HU) | ((hu >= _SURFACE_CAP_MIN_HU) & _touches(in_bands)))
    sub[in_bands] = GGO
    sub[in_bands & allow_solid & (hu >= p.solid_min_hu)] = SOLID
    return LesionMasks(out)


def _detect(
    hu: NDArray[np.float32],
    inner: NDArray[np.bool_],
    lung: NDArray[np.bool_],
    sp: tuple[float, float, float],
    p: LesionParameters,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Coarse ground-glass and solid lesion masks (see the module docstring)."""
    voxel_ml = float(np.prod(sp)) / 1000.0
    ggo = inner & (hu >= p.ggo_min_hu) & (hu < p.ggo_max_hu)
    # Partial-volume shells of vessels: ground-glass HU right next to vessel-dense voxels.
    vessel = inner & (hu >= p.vessel_min_hu)
    if vessel.any():
        ggo &= ~ndimage.binary_dilation(vessel, structure=_CUBE)
    # Opening, with everything outside the lung interior counted as ground glass, so that thin
    # subpleural bands (the typical COVID pattern) are not eroded from the pleural side.
    thick = opening(ggo | ~inner, _GGO_OPENING_MM, sp, centres=ggo)
    # Subpleural bands are often thinner than that; near the pleura vessels are thin, so a
    # smaller opening is enough there.
    subpleural = near(~lung, _SUBPLEURAL_MM, sp)
    thin = opening(ggo | ~inner, _GGO_SUBPLEURAL_OPENING_MM, sp, centres=ggo & subpleural)
    ggo = thick | thin
    solid = inner & (hu >= p.solid_min_hu) & (hu < p.solid_max_hu)
    radius = 0.5 * p.vessel_max_diameter_mm
    if solid.any():
        # As for ground glass, the pleural side does not erode (subpleural consolidation).
        blob = opening(solid | ~inner, radius, sp, centres=solid)
        if ggo.any():
            blob |= solid & near(ggo, radius, sp)
        solid = blob
    lesion = ggo | solid
    labels, n = ndimage.label(lesion)
    if n:
        sizes = np.bincount(labels.ravel()) * voxel_ml
        small = sizes < p.min_component_ml
        small[0] = False
        drop = small[labels]
        ggo &= ~drop
        solid &= ~drop
    return ggo, solid


def _interior(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Voxels of ``mask`` whose six face neighbours are in ``mask`` too (outside the array counts
    as inside): a 6-connected erosion by shifted in-place ANDs, cheaper than ndimage on ~10⁸ voxels.
    """
    out = mask.copy()
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        out[tuple(lo)] &= mask[tuple(hi)]
        out[tuple(hi)] &= mask[tuple(lo)]
    return out


def _touches(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Voxels with at least one face neighbour in ``mask`` (not counting themselves), by shifted
    in-place ORs like :func:`_interior`.
    """
    out = np.zeros_like(mask)
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        out[tuple(lo)] |= mask[tuple(hi)]
        out[tuple(hi)] |= mask[tuple(lo)]
    return out


def _aligned_bbox(mask: NDArray[np.bool_], factors: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    """Bounding box of ``mask`` grown by one block, starting on a block boundary."""
    sl = []
    for axis, f in enumerate(factors):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        lo = max((int(hit[0]) // f - 1) * f, 0)
        hi = min(int(hit[-1]) + f + 1, mask.shape[axis])
        sl.append(slice(lo, hi))
    return tuple(sl)  # type: ignore[return-value]
