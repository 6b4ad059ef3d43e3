"""Automatic left/right lung segmentation that includes dense pathology.

Pipeline (all thresholds from :class:`quant.protocol.LungParameters`):

1. On a ~2 mm coarse grid (:mod:`quant.grid`): air = HU < ``air_threshold_hu``; air connected to
   the in-plane border of the volume is outside the patient.
2. The trachea and main bronchi are found and removed with their wall (:mod:`quant.airway`);
   around them (the hila) only aerated voxels may be lung.
3. The remaining air components larger than ``min_lung_ml`` are lungs; if the two lungs touch
   (anterior junction), they are split by erosion and re-grown to the nearest seed
   (:mod:`quant.lung_split`). Sides come from the patient LPS x of each lung's centroid.
4. Dense pathology (consolidation, subpleural opacities, vessels) is added back per lung: tissue
   below ``pathology_max_hu`` connected to aerated lung within ``pleural_closing_mm`` (so chest
   wall muscle, heart, liver and bone stay out), 3-D holes, and thin per-slice holes
   (:mod:`quant.pleura`).
5. The surface is moved to the local half-way HU between lung and soft tissue; at full resolution
   only the coarse blocks on the surface are re-decided voxel by voxel (:mod:`quant.lung_edges`),
   every other voxel takes its block's label.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.airway import find_airway
from quant.distance import near
from quant.grid import coarse_grid
from quant.lung_edges import refine_edges
from quant.labels import LungMasks
from quant.lung_split import split_lungs
from quant.pleura import include_pathology
from quant.protocol import Protocol, default_protocol
from quant.segmentation_errors import SegmentationError
from quant.volume import Volume

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
        SegmentationError: no air-filled region of lung size inside the body ("no lungs found").
    """
    protocol = protocol or default_protocol()
    p = protocol.lungs
    step = step or _no_step
    grid = coarse_grid(volume.shape, volume.spacing, COARSE_GRID_MM)
    hu_c = grid.sample(volume.hu)
    sp = grid.spacing
    voxel_ml = float(np.prod(sp)) / 1000.0

    step(0.05, "finding air inside the body")
    air = hu_c < p.air_threshold_hu
    outside = _outside_air(air)
    internal = air & ~outside
    if not internal.any():
        raise SegmentationError(
            "no lungs found: there is no air inside the body in this volume (is it a chest CT?)"
        )

    step(0.2, "removing the airways")
    superior_last = _superior_is_last(volume)
    airway = find_airway(hu_c, internal, sp, p.airway_threshold_hu, superior_last)
    # Partial-volume lumen voxels around the detected core, and the airway wall (never lung).
    airway_zone = ndimage.binary_dilation(airway, iterations=1) & internal if airway.any() else airway
    airway_wall = _dilate_mm(airway, sp, _AIRWAY_WALL_MM) | airway_zone if airway.any() else airway
    # Around the airway lie the hila (vessels, nodes): only aerated voxels are lung there.
    hilum = _dilate_mm(airway, sp, _HILUM_MM) if airway.any() else airway
    candidates = internal & ~airway_zone

    step(0.35, "separating the lungs")
    lungs_c = _largest_lungs(candidates, voxel_ml, p.min_lung_ml)
    labels_c = split_lungs(lungs_c, volume, grid)

    step(0.5, "adding dense pathology along the pleura")
    bone = hu_c > _BONE_HU
    labels_c = include_pathology(
        labels_c, hu_c, air=air, outside=outside, airway=airway_wall | (hilum & ~air), bone=bone,
        spacing=sp, pathology_max_hu=p.pathology_max_hu, max_depth_mm=p.pleural_closing_mm,
    )

    step(0.8, "refining the lung edges")
    labels = refine_edges(
        labels_c, hu_c, grid, volume.hu, outside=outside, blocked=bone | airway_wall,
        max_hu=p.pathology_max_hu,
    )
    if not labels.any():
        raise SegmentationError("no lungs found: the lung candidates vanished at the edge refinement")
    step(1.0, "lungs done")
    return LungMasks(labels)


# Cortical bone and contrast are far above any lung pathology (consolidation is below ~+100 HU).
_BONE_HU = 200
# Airway wall thickness (mm) kept out of the lung around the detected lumen.
_AIRWAY_WALL_MM = 3.0
# Hilar soft tissue around the detected airway (mm) where only aerated voxels are lung.
_HILUM_MM = 12.0


def _dilate_mm(mask: NDArray[np.bool_], spacing: tuple[float, float, float], mm: float) -> NDArray[np.bool_]:
    """``mask`` grown by ``mm`` (Euclidean, anisotropic spacing), computed in its bounding box."""
    margin = [int(np.ceil(mm / s)) + 1 for s in spacing]
    idx = np.nonzero(mask)
    box = tuple(slice(max(int(i.min()) - m, 0), int(i.max()) + m + 1) for i, m in zip(idx, margin))
    out = np.zeros_like(mask)
    out[box] = near(mask[box], mm, spacing)
    return out


def _superior_is_last(volume: Volume) -> bool:
    """True when increasing z index moves superior (LPS +z)."""
    return bool(volume.direction[2, 2] >= 0)


def _outside_air(air: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Air connected (3-D) to the in-plane (y/x) border of the volume: outside the patient."""
    labels, n = ndimage.label(air)
    if n == 0:
        return np.zeros(air.shape, dtype=bool)
    touches = np.zeros(n + 1, dtype=bool)
    for face in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        touches[np.unique(face)] = True
    touches[0] = False
    return touches[labels]


def _largest_lungs(candidates: NDArray[np.bool_], voxel_ml: float, min_lung_ml: float) -> NDArray[np.bool_]:
    """The (at most) two largest air components of at least ``min_lung_ml`` (mL)."""
    labels, n = ndimage.label(candidates)
    if n == 0:
        raise SegmentationError(
            "no lungs found: no air-filled region inside the body (is this a chest CT?)"
        )
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    order = np.argsort(sizes)[::-1]
    keep = [i for i in order[:2] if sizes[i] * voxel_ml >= min_lung_ml]
    if not keep:
        largest = sizes[order[0]] * voxel_ml
        raise SegmentationError(
            f"no lungs found: the largest air region inside the body is {largest:.0f} mL, below "
            f"the protocol minimum of {min_lung_ml:.0f} mL (is this a chest CT?)"
        )
    # A second component much smaller than the first is bowel gas or a bulla, not a lung.
    if len(keep) == 2 and sizes[keep[1]] < 0.15 * sizes[keep[0]]:
        keep = keep[:1]
    chosen = np.zeros(sizes.size, dtype=bool)
    chosen[keep] = True
    return chosen[labels]
