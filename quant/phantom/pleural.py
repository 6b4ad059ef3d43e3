"""Dependent pleural effusion, dependent atelectasis and a consolidation touching the mediastinum.

All three need the whole lung of a side at once (the effusion volume is exact to a voxel on the
output grid), so they are drawn on the classified volume, after the per-slice anatomy and before
the lungs are kept apart (:func:`quant.phantom.scan._separate_lungs`).

* **Effusion** (:data:`Tissue.EFFUSION`, +10 HU, homogeneous): the patient lies supine, so fluid
  gathers in the posterior, basal pleural cavity. Every lung voxel gets a *dependency score*: its
  distance (mm) in front of the posterior cavity wall, stretched by ``exp((z - floor) /``
  :data:`EFFUSION_PROFILE_MM` ``)`` above the lung floor (:data:`LUNG_FLOOR_MM`). The lowest-score
  voxels of each side, as many as the requested volume, become fluid: a posterior crescent, thickest
  at the bases, thinning upwards. It replaces lung (lung label 0).
* **Atelectasis** (:data:`Tissue.ATELECTASIS`, +35 HU): a band of lung just inside the effusion
  (or, without one, along the posterior pleura), ``atelectasis_mm`` thick (along y) in the lowest
  :data:`ATELECTASIS_BASE_MM` of the lung and wherever the fluid is at least twice that thick,
  thinning above (by e every :data:`ATELECTASIS_PROFILE_MM`) and where the fluid thins:
  compressive / dependent atelectasis. Lung and solid lesion in the truth.
* **Mediastinal consolidation** (:data:`Tissue.CONSOLIDATION`, +30 HU): an ellipsoid of airless lung
  in the left lower lobe, paravertebral and retrocardiac, against the descending aorta (the
  mediastinal pleura). Lung and solid lesion in the truth.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from quant.labels import LEFT_LUNG, RIGHT_LUNG
from quant.phantom.anatomy import Anatomy, Tissue
from quant.phantom.errors import PhantomError
from quant.phantom.extras import Extras
from quant.phantom.grid import Grid

__all__ = [
    "add_pleural_extras", "dependency_score", "posterior_depth", "atelectasis_thickness", "mediastinal_consolidation_ellipsoid",
    "EFFUSION_PROFILE_MM", "LUNG_FLOOR_MM", "MAX_EFFUSION_SHARE", "ATELECTASIS_BASE_MM", "ATELECTASIS_PROFILE_MM",
]

#: Height (mm) over which the effusion / atelectasis thickness falls by a factor e.
EFFUSION_PROFILE_MM = 50.0
#: z (mm) of the lowest lung (the posterior costophrenic recesses).
LUNG_FLOOR_MM = -110.0
#: An effusion may replace at most this share of its side's lung.
MAX_EFFUSION_SHARE = 0.5
#: Atelectasis has its full thickness in the lowest ATELECTASIS_BASE_MM (mm) of the lung ...
ATELECTASIS_BASE_MM = 40.0
#: ... and thins by a factor e every ATELECTASIS_PROFILE_MM (mm) above.
ATELECTASIS_PROFILE_MM = 30.0


def posterior_depth(anat: Anatomy, x: NDArray, y: NDArray, z: float) -> NDArray[np.float32]:
    """How far (mm, along y) points at height z lie in front of the posterior cavity wall."""
    _yc, _ha, _hb, yck, hak, hbk = anat.cavity(np.float32(z))
    q = np.clip(1.0 - (x / max(float(hak), 1e-3)) ** 2, 0.0, 1.0)
    return np.maximum(yck + hbk * np.sqrt(q) - y, 0.0).astype(np.float32)


def _stretch(z: float) -> float:
    return float(np.exp((float(z) - LUNG_FLOOR_MM) / EFFUSION_PROFILE_MM))


def dependency_score(anat: Anatomy, x: NDArray, y: NDArray, z: float) -> NDArray[np.float32]:
    """How far (mm) lung at (x, y, z) lies in front of the posterior wall, stretched with height.

    Equal to :func:`posterior_depth` at the lung floor, growing by a factor e every
    :data:`EFFUSION_PROFILE_MM` mm higher: low scores are dependent lung.
    """
    return posterior_depth(anat, x, y, z) * np.float32(_stretch(z))


def atelectasis_thickness(atelectasis_mm: float, z: float, fluid_mm: float = 0.0) -> float:
    """Thickness (mm) of the atelectatic band at height z (mm) in front of ``fluid_mm`` of fluid.

    Full thickness in the lowest :data:`ATELECTASIS_BASE_MM` of the lung and wherever the fluid
    is at least twice as thick (compressive atelectasis); thinner above and where the fluid thins.
    """
    a = float(atelectasis_mm)
    if a <= 0:
        return 0.0
    above = float(z) - (LUNG_FLOOR_MM + ATELECTASIS_BASE_MM)
    basal = float(np.exp(-max(above, 0.0) / ATELECTASIS_PROFILE_MM))
    return a * max(basal, min(1.0, float(fluid_mm) / (2.0 * a)))


def mediastinal_consolidation_ellipsoid(anat: Anatomy, strength: float) -> tuple[NDArray, NDArray]:
    """Centre (x, y, z) and semi-axes (mm) of the left lower lobe consolidation of ``strength``."""
    cz = anat.dome_left + 28.0
    r = 12.0 + 16.0 * float(strength)
    aorta_edge = 22.0 + 12.0  # lateral edge of the descending aorta (see anatomy.classify)
    centre = np.array([aorta_edge + 0.3 * r, float(anat.spine_y(np.float32(cz))), cz], dtype=np.float32)
    return centre, np.array([r, 1.3 * r, 1.4 * r], dtype=np.float32)


def add_pleural_extras(anat: Anatomy, grid: Grid, tissue: NDArray[np.uint8], side: NDArray[np.uint8], extras: Extras) -> None:
    """Draw effusion, atelectasis and mediastinal consolidation (``tissue``/``side`` in place).

    Raises:
        PhantomError: an effusion larger than :data:`MAX_EFFUSION_SHARE` of its side's lung.
    """
    if any(extras.effusion_ml) or any(extras.atelectasis_mm):
        _dependent(anat, grid, tissue, side, extras)
    if extras.mediastinal_consolidation > 0:
        centre, axes = mediastinal_consolidation_ellipsoid(anat, extras.mediastinal_consolidation)
        X, Y = np.meshgrid(grid.x, grid.y)
        for k in np.flatnonzero(np.abs(grid.z - centre[2]) < axes[2]):
            r = ((X - centre[0]) / axes[0]) ** 2 + ((Y - centre[1]) / axes[1]) ** 2 + ((grid.z[k] - centre[2]) / axes[2]) ** 2
            cons = (r < 1.0) & (side[k] == LEFT_LUNG) & (tissue[k] == Tissue.LUNG)
            tissue[k][cons] = Tissue.CONSOLIDATION


def _dependent(anat: Anatomy, grid: Grid, tissue: NDArray[np.uint8], side: NDArray[np.uint8], extras: Extras) -> None:
    X, Y = np.meshgrid(grid.x, grid.y)
    xs, ys = X.ravel(), Y.ravel()
    # Per side: (slice, flat indices, posterior depth mm) of its aerated lung voxels.
    entries: dict[int, list[tuple[int, NDArray[np.int64], NDArray[np.float32]]]] = {RIGHT_LUNG: [], LEFT_LUNG: []}
    for k, z in enumerate(grid.z):
        t, s = tissue[k].ravel(), side[k].ravel()
        idx = np.flatnonzero((t == Tissue.LUNG) & (s > 0))
        if idx.size == 0:
            continue
        depth = posterior_depth(anat, xs[idx], ys[idx], float(z))
        for lab in (RIGHT_LUNG, LEFT_LUNG):
            sel = s[idx] == lab
            if sel.any():
                entries[lab].append((k, idx[sel], depth[sel]))
    voxel_ml = float(np.prod(grid.spacing)) / 1000.0
    for lab, ml, atel_mm in (
        (RIGHT_LUNG, extras.effusion_ml[0], extras.atelectasis_mm[0]),
        (LEFT_LUNG, extras.effusion_ml[1], extras.atelectasis_mm[1]),
    ):
        if not entries[lab] or (ml <= 0 and atel_mm <= 0):
            continue
        scores = np.concatenate([e[2] * np.float32(_stretch(grid.z[e[0]])) for e in entries[lab]])
        n = int(round(ml / voxel_ml))
        if n > MAX_EFFUSION_SHARE * scores.size:
            name = "right" if lab == RIGHT_LUNG else "left"
            raise PhantomError(
                f"a {ml:g} mL {name} effusion is more than {MAX_EFFUSION_SHARE:.0%} of that lung "
                f"({scores.size * voxel_ml:.0f} mL)"
            )
        fluid_below = float(np.partition(scores, n)[n]) if n > 0 else 0.0
        shape = tissue.shape[1:]
        for k, idx, depth in entries[lab]:
            z = float(grid.z[k])
            fluid_depth = fluid_below / _stretch(z)  # mm of fluid in front of the posterior wall
            fluid = depth * np.float32(_stretch(z)) < fluid_below
            band = atelectasis_thickness(atel_mm, z, fluid_depth)
            if band > 0:
                atel = ~fluid & (depth < fluid_depth + band)
                tissue[k][np.unravel_index(idx[atel], shape)] = Tissue.ATELECTASIS
            fluid_at = np.unravel_index(idx[fluid], shape)
            tissue[k][fluid_at] = Tissue.EFFUSION
            side[k][fluid_at] = 0
