"""Airless lung between the aerated lung and the rib cage: dependent atelectasis, broad consolidation.

A consolidation or atelectasis that lies along the chest wall over a broad front is neither
enclosed nor in a notch of the aerated lung: the aerated lung simply stops short of the wall. What
gives it away is the rib cage. Along each line of voxels that leaves a lung towards the chest wall
(posterior, lateral, and below the hila medial behind the centre of the spine, into the paravertebral
gutter, where above them the aorta lies),
the *gap* between the last lung voxel and the inner rib line (or the spine) is lung when it is all
airless lung tissue and short:

* the rib line is the first bone beyond the lung on that line, taken as the innermost over a
  window of neighbouring lines (``_RIB_WINDOW_MM``), so the gaps between ribs are bridged;
* the gap runs from the lung over candidate voxels (airless or partially aerated tissue or fluid;
  not fat, not bone) and must end within ``max_gap_mm`` at the rib line (less ``_PLEURA_MM``) or
  at fat (extrapleural fat, at least two voxels thick: a single fat-band voxel is partial volume),
  never in the open: a run that is still going at ``max_gap_mm`` is an organ (the liver under the
  dome, the heart), not a layer against the wall; a gap shallower than ``_MIN_GAP_MM`` is the
  pleura and extrapleural layer;
* not between the lungs in front of the spine within ``_SPINE_MARGIN_MM`` of the vertebral body
  (the descending aorta, oesophagus and azygos vein, as dense as airless lung);
* not at the top of the lungs (``lungs._INLET_MM``): there the lung apex rises into the thoracic inlet, where
  muscle lies between the lung and the first ribs;
* fluid (``fluid_min_hu``..``fluid_max_hu`` on a 3×3×3 mean: a pleural effusion, 0..20 HU) lies
  outermost, against the wall, below the compressed lung: from the first fluid at least two voxels
  thick along the line, the gap is effusion, never lung, and is reported so QC can flag a possible
  effusion. A single fluid-like voxel (noise in a consolidation) does not cut it.

Limits: the rib line needs ribs (bone above ``bone_min_hu``) beyond the lung, so airless lung
against the anterior wall (costal cartilage) or the mediastinum is not found here; atelectasis
denser than ``fluid_max_hu`` is told from fluid by HU alone, which fails for fluid-dense atelectasis
or an exudate denser than that.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.segment.pleura import low_x_label, mediastinal_band

__all__ = ["wall_gaps"]

# Intercostal spaces are bridged by taking the innermost rib over this window of lines (mm, along z
# and across the lines).
_RIB_WINDOW_MM = (24.0, 8.0)
# Parietal pleura and endothoracic fascia inside the ribs (mm): never lung.
_PLEURA_MM = 3.0
# Gaps shallower than this (mm) are the pleura and extrapleural layer, not airless lung.
_MIN_GAP_MM = 5.0
# The posterior mediastinum (aorta, oesophagus, azygos) lies within this distance (mm) of the
# vertebral body's sides; between the lungs but farther out is retrocardiac lung.
_SPINE_MARGIN_MM = 20.0


def _gap_along(
    lung: NDArray[np.bool_],
    candidate: NDArray[np.bool_],
    fat: NDArray[np.bool_],
    fluid: NDArray[np.bool_],
    dense: NDArray[np.bool_],
    bone: NDArray[np.bool_],
    axis: int,
    forward: bool,
    spacing: tuple[float, float, float],
    max_gap_mm: float,
    allowed: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Airless-lung gap voxels beyond ``lung`` along ``axis`` (see the module docstring).
    ``allowed``: whether gaps are searched on each line (broadcasts to the line grid)."""
    s = spacing[axis]
    # Flip so that "beyond the lung" is always increasing index.
    if not forward:
        lung, candidate, fat, fluid, dense, bone = (
            np.flip(a, axis) for a in (lung, candidate, fat, fluid, dense, bone)
        )
    n = lung.shape[axis]
    shape = [1, 1, 1]
    shape[axis] = n
    idx = np.arange(n, dtype=np.float32).reshape(shape)
    # The last lung voxel of each line, broadcast along it.
    last = np.max(np.where(lung, idx, np.float32(-1.0)), axis=axis, keepdims=True)
    beyond = idx > last
    # The inner rib line: first bone beyond the lung, innermost over neighbouring lines.
    first_bone = np.min(np.where(bone & beyond, idx, np.float32(np.inf)), axis=axis, keepdims=True)
    other = [a for a in range(3) if a != axis]
    size = [1, 1, 1]
    size[0] = max(1, int(round(_RIB_WINDOW_MM[0] / spacing[0]))) | 1
    across = other[1] if other[0] == 0 else other[0]
    size[across] = max(1, int(round(_RIB_WINDOW_MM[1] / spacing[across]))) | 1
    rib = ndimage.minimum_filter(first_bone, size=size, mode="nearest")
    wall = rib - _PLEURA_MM / s
    reach = last + max_gap_mm / s
    # The run of candidates (airless tissue or fluid) from the lung outwards. A single fat-band
    # voxel is partial volume (between ground glass and consolidation, say) and does not stop it;
    # fat at least two voxels thick along the line is a layer of fat and does.
    thick_fat = fat & np.roll(fat, -1, axis)
    blocked = beyond & ~(candidate | fluid | (fat & ~thick_fat))
    first_block = np.min(np.where(blocked, idx, np.float32(np.inf)), axis=axis, keepdims=True)
    end = np.minimum(first_block, wall)
    ends_at_fat = np.take_along_axis(
        thick_fat, np.clip(first_block, 0, n - 1).astype(np.intp), axis=axis
    ) & np.isfinite(first_block)
    good = (end <= reach) & ((first_block >= wall) | ends_at_fat) & (last >= 0) & np.isfinite(end)
    # A gap shallower than the pleura and the extrapleural layer is the wall itself.
    good &= (end - last - 1) * s >= _MIN_GAP_MM
    good &= allowed
    gap = beyond & (idx < end) & good
    # Fluid lies outermost (against the wall): where the gap meets fluid at least two voxels thick
    # (a single fluid-like voxel is noise in a consolidation), the rest of it is effusion.
    thick = fluid & np.roll(fluid, -1, axis)
    first_fluid = np.min(np.where(gap & thick, idx, np.float32(np.inf)), axis=axis, keepdims=True)
    # ... and what lies in front of fluid is airless lung only if it is deeper than the pleural
    # layer and somewhere denser than fluid (partial volume of lung with fluid never is).
    deep_enough = (np.minimum(first_fluid, end) - last - 1) * s >= _MIN_GAP_MM
    front = gap & (idx < first_fluid)
    airless = front & deep_enough & (front & dense).any(axis=axis, keepdims=True)
    return np.flip(airless, axis) if not forward else airless


def _behind_spine_centre(spine: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """(z, y, 1) rows at or behind the centre of the ``spine`` (the bone in the mediastinal band
    between the two lungs: vertebral body and posterior elements) on their slice. False on slices
    with none."""
    ny = spine.shape[1]
    y = np.arange(ny, dtype=np.float32).reshape(1, -1)
    count = spine.sum(axis=2)  # (z, y)
    total = count.sum(axis=1)
    centre = np.where(total > 0, (count * y).sum(axis=1) / np.maximum(total, 1), np.inf)
    return (y >= centre[:, None])[:, :, None]


def _beside_spine(spine: NDArray[np.bool_], spacing: tuple[float, float, float], margin_mm: float) -> NDArray[np.bool_]:
    """(z, 1, x) columns within ``margin_mm`` of the x-extent of the ``spine`` on their slice;
    every column on slices without one."""
    columns = spine.any(axis=1, keepdims=True)  # (z, 1, x)
    nx = spine.shape[2]
    x = np.arange(nx).reshape(1, 1, -1)
    lo = np.min(np.where(columns, x, nx), axis=2, keepdims=True)
    hi = np.max(np.where(columns, x, -1), axis=2, keepdims=True)
    m = margin_mm / spacing[2]
    found = hi >= 0
    return ~found | ((x >= lo - m) & (x <= hi + m))


def wall_gaps(
    labels: NDArray[np.uint8],
    smooth_hu: NDArray[np.float32],
    *,
    candidate: NDArray[np.bool_],
    fat: NDArray[np.bool_],
    bone: NDArray[np.bool_],
    spacing: tuple[float, float, float],
    fluid_min_hu: float,
    fluid_max_hu: float,
    max_gap_mm: float,
    top_slice: int | None = None,
    medial_top_slice: int | None = None,
    superior_last: bool = True,
) -> NDArray[np.uint8]:
    """Airless-lung gaps (per lung: posterior, and lateral on each lung's own side) on the coarse
    (z, y, x) grid, as lung labels (uint8, 1 right / 2 left, 0 elsewhere). ``labels``: the lungs,
    1 right (low x), 2 left. ``smooth_hu``: the 3×3×3 mean of the coarse-grid HU.

    ``top_slice``: the most superior slice searched (below the lung apex by ``lungs._INLET_MM``): above it the
    lung rises into the thoracic inlet, where muscle, not lung, lies between the lung and the
    first ribs. ``medial_top_slice``: the same for the medial lines into the paravertebral gutter
    (the lowest slice of the main bronchi: above the hila the aortic arch and the descending aorta
    lie in the gutter, as dense as airless lung). None searches every slice."""
    fluid = (smooth_hu > fluid_min_hu) & (smooth_hu <= fluid_max_hu) & ~bone
    dense = (smooth_hu > fluid_max_hu) & ~bone
    cand = candidate & ~fluid
    airless = np.zeros(labels.shape, dtype=np.uint8)
    z = np.arange(labels.shape[0]).reshape(-1, 1, 1)

    def below(top: int | None) -> NDArray[np.bool_]:
        if top is None:
            return np.ones(z.shape, dtype=bool)
        return z <= top if superior_last else z >= top

    allowed = below(top_slice)
    band = mediastinal_band(labels)
    spine = bone & band
    behind = _behind_spine_centre(spine)
    medial = allowed & below(medial_top_slice) & behind
    # In front of the spine, between the lungs and beside the vertebral body, lie the aorta and
    # oesophagus: never a gap. Farther out on such a row (the lung's medial edge there is the
    # aerated part of a retrocardiac consolidation) the usual rules apply.
    cand &= ~(band & ~behind & _beside_spine(spine, spacing, _SPINE_MARGIN_MM))
    low = low_x_label(labels)
    for side in (1, 2):
        lateral_forward = side != low  # the lung at low x has its chest wall at low x
        lung = labels == side
        if not lung.any():
            continue
        side_gap = np.zeros(labels.shape, dtype=bool)
        lines = ((1, True, allowed), (2, lateral_forward, allowed), (2, not lateral_forward, medial))
        for axis, forward, where in lines:
            side_gap |= _gap_along(
                lung, cand, fat, fluid & ~fat, dense, bone, axis, forward, spacing, max_gap_mm, where
            )
        airless[side_gap & (airless == 0) & (labels == 0)] = side
    return airless
