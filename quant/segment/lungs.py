"""Automatic left/right lung segmentation: anatomy, not a threshold.

Pipeline (thresholds and sizes from :class:`quant.protocol.LungParameters`), on a ~2 mm coarse grid
of block means (:mod:`quant.segment.coarse_grid`; averaging is the denoising):

1. **Air inside the body**: HU < ``air_threshold_hu``; air connected to the in-plane border of the
   volume is outside the patient, with the body closed along the image edge where the field of
   view cuts it (:mod:`quant.segment.outside`).
2. **Airway**: the trachea and main bronchi are found and removed with their wall
   (:mod:`quant.segment.airway`); around them (the hila) only aerated voxels may be lung.
3. **Lungs, not gas**: air components that are lung-like (vessel texture, parenchymal HU) rather
   than bowel or stomach gas are the lungs (:mod:`quant.segment.lung_select`); a scan without plausible
   lungs is refused. Two touching lungs are split (:mod:`quant.segment.lung_split`); sides come from the
   patient LPS x of each lung.
4. **Airless lung**: consolidation, atelectasis and tumour are added back where the aerated lung
   encloses them, holds them in a notch or walls them in (:mod:`quant.segment.pleura`), or fronts them
   against the ribs, the spine or an effusion (:mod:`quant.segment.wall_gap`); never fat, a thick layer of
   fluid (effusion), bone, airway or what lies outside the body.
5. **Surface**: where aerated lung meets the wall, the surface moves to the local half-way HU
   between lung and soft tissue, refined at full resolution on the surface blocks only
   (:mod:`quant.segment.lung_edges`); every other voxel takes its block's label.

Limits are those of steps 3 and 4 (see their modules): airless lung is found only where aerated
lung is next to it, so a completely collapsed lobe, a consolidation at the base with no aerated
lung in front of or below it, or pleural-based disease at the apex is found partly at best; the QC
flags (:mod:`quant.segment.qc`) say when a result cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import near, opening
from quant.labels import LungMasks
from quant.protocol import Protocol, default_protocol
from quant.segment.airway import find_airway
from quant.segment.coarse_grid import coarse_grid
from quant.segment.errors import SegmentationError
from quant.segment.lung_edges import refine_edges
from quant.segment.lung_select import select_lungs
from quant.segment.lung_split import split_lungs
from quant.segment.outside import outside_air
from quant.segment.pleura import fat_mask, include_pathology
from quant.segment.wall_gap import wall_gaps
from quant.volume import Volume
from quant.voxel_box import padded_box

__all__ = ["segment_lungs", "COARSE_GRID_MM"]

# Coarse working grid (mm). 2 mm keeps the full-size lung mask well under a second while the
# air/tissue edges are refined at full resolution afterwards.
COARSE_GRID_MM = 2.0

Step = Callable[[float, str], None]


def _no_step(_fraction: float, _text: str) -> None:
    return None


def segment_lungs(
    volume: Volume, protocol: Protocol | None = None, *, step: Step | None = None
) -> LungMasks:
    """Segment the right (label 1) and left (label 2) lung of a chest CT.

    Args:
        volume: CT volume in HU, axis order (z, y, x).
        protocol: thresholds (HU) and sizes (mL, mm); default: the bundled protocol.
        step: optional ``step(fraction, text)`` callback called between stages (fraction 0..1 of
            this function's work); it may raise to abort (cancellation).

    Raises:
        SegmentationError: "no plausible lungs ...": no air inside the body, only gas-like air
            (stomach, bowel), or less lung-like air than ``min_lung_ml``.
    """
    protocol = protocol or default_protocol()
    p = protocol.lungs
    step = step or _no_step
    grid = coarse_grid(volume.shape, volume.spacing, COARSE_GRID_MM)
    hu_c = grid.block_mean(volume.hu)
    sp = grid.spacing
    voxel_ml = float(np.prod(sp)) / 1000.0

    step(0.05, "finding air inside the body")
    air = hu_c < p.air_threshold_hu
    superior_last = _superior_is_last(volume)
    outside = outside_air(air)
    internal = air & ~outside
    if not internal.any():
        raise SegmentationError(
            "no plausible lungs: there is no air inside the body in this volume (is it a chest CT?)"
        )

    step(0.2, "removing the airways")
    airway = find_airway(hu_c, internal, sp, p.airway_threshold_hu, superior_last)
    # Partial-volume lumen voxels around the detected core, and the airway wall (never lung).
    airway_zone = ndimage.binary_dilation(airway, iterations=1) & internal if airway.any() else airway
    airway_wall = _dilate_mm(airway, sp, _AIRWAY_WALL_MM) | airway_zone if airway.any() else airway
    # Around the airway lie the hila (vessels, nodes): only aerated voxels are lung there.
    hilum = _dilate_mm(airway, sp, _HILUM_MM) if airway.any() else airway

    step(0.35, "telling lungs from bowel gas")
    body_x = np.flatnonzero((~outside).any(axis=(0, 1)))
    lungs_c = select_lungs(
        internal & ~airway_zone, hu_c, voxel_ml, p.min_lung_ml, superior_last=superior_last,
        centre_x=0.5 * float(body_x[0] + body_x[-1]) if body_x.size else None,
    )
    labels_c = split_lungs(lungs_c, volume, grid)

    step(0.5, "adding airless lung")
    bone = hu_c > p.bone_min_hu
    blocked = outside | bone | airway_wall | (hilum & ~air)
    fat = fat_mask(hu_c, p.fat_min_hu, p.fat_max_hu)
    # A pleural effusion is a thick layer of fluid: never lung, whichever step meets it (found
    # where additions can happen: around the lungs).
    smooth = ndimage.uniform_filter(hu_c, size=3)  # 3x3x3 mean: fluid is told by it, not by noise
    near_lungs = padded_box(labels_c > 0, [int(np.ceil(p.notch_radius_mm / s)) + 3 for s in sp])
    effusion = np.zeros(hu_c.shape, dtype=bool)
    effusion[near_lungs] = opening(
        (smooth[near_lungs] > p.fat_max_hu) & (smooth[near_lungs] <= p.effusion_max_hu),
        _EFFUSION_MIN_RADIUS_MM, sp,
    )
    labels_c = include_pathology(
        labels_c, hu_c, blocked=blocked | effusion, fat=fat, spacing=sp, air_threshold_hu=p.air_threshold_hu,
        notch_mm=p.notch_radius_mm, enclosure_mm=p.enclosure_mm,
        enclosure_min_radius_mm=p.enclosure_min_radius_mm,
        hila=_dilate_mm(airway, sp, _HILA_MM) if airway.any() else None,
    )
    step(0.65, "adding airless lung along the chest wall")
    airless = wall_gaps(
        labels_c, smooth, spacing=sp, fat=fat, bone=bone,
        candidate=(hu_c >= p.air_threshold_hu) & ~blocked & ~fat,
        fluid_min_hu=p.fat_max_hu, fluid_max_hu=p.effusion_max_hu, max_gap_mm=p.wall_gap_mm,
        top_slice=_below_apex(labels_c > 0, superior_last, _INLET_MM / sp[0]),
        medial_top_slice=_lowest_slice(airway, superior_last), superior_last=superior_last,
    )
    labels_c = np.maximum(labels_c, airless)
    labels_c[airway_wall] = 0

    step(0.8, "refining the lung edges")
    labels = refine_edges(
        labels_c, hu_c, grid, volume.hu, outside=outside, blocked=bone | airway_wall,
        max_hu=p.fat_min_hu,
    )
    if not labels.any():
        raise SegmentationError("no plausible lungs: the lung candidates vanished at the edge refinement")
    step(1.0, "lungs done")
    return LungMasks(labels)


# Fluid is an effusion where a ball of this radius (mm) fits into it (noise in a consolidation
# makes only specks of fluid-like HU).
_EFFUSION_MIN_RADIUS_MM = 3.0
# Airway wall thickness (mm) kept out of the lung around the detected lumen.
_AIRWAY_WALL_MM = 3.0
# The hila (pulmonary vessels and nodes) lie within this distance (mm) of the main bronchi: there
# the notches of the lung's medial surface are not filled.
_HILA_MM = 40.0
# Hilar soft tissue around the detected airway (mm) where only aerated voxels are lung.
_HILUM_MM = 12.0
# The lung apex rises this far (mm) into the thoracic inlet, where muscle, not lung, lies between
# the lung and the first ribs: no chest-wall gap is searched there.
_INLET_MM = 40.0


def _dilate_mm(mask: NDArray[np.bool_], spacing: tuple[float, float, float], mm: float) -> NDArray[np.bool_]:
    """``mask`` grown by ``mm`` (Euclidean, anisotropic spacing), computed in its bounding box."""
    box = padded_box(mask, [int(np.ceil(mm / s)) + 1 for s in spacing])
    out = np.zeros_like(mask)
    out[box] = near(mask[box], mm, spacing)
    return out


def _lowest_slice(mask: NDArray[np.bool_], superior_last: bool) -> int | None:
    """Index of the most inferior slice holding ``mask`` (None when it is empty)."""
    zs = np.flatnonzero(mask.any(axis=(1, 2)))
    if zs.size == 0:
        return None
    return int(zs[0] if superior_last else zs[-1])


def _below_apex(mask: NDArray[np.bool_], superior_last: bool, slices: float) -> int | None:
    """Index of the slice ``slices`` (rounded up) below the most superior slice holding ``mask``
    (None when it is empty)."""
    top = _lowest_slice(mask, not superior_last)  # the most superior slice
    if top is None:
        return None
    n = int(np.ceil(slices))
    return top - n if superior_last else top + n


def _superior_is_last(volume: Volume) -> bool:
    """True when increasing z index moves superior (LPS +z)."""
    return bool(volume.direction[2, 2] >= 0)
