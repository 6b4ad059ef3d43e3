"""Which air regions inside the body are lungs, and which are bowel gas.

Air inside the body (below the lung threshold, not connected to the air around the patient) is
lung, airway, or gas in the stomach and bowel. Size alone does not tell them apart: an abdominal CT
holds litres of bowel gas and a few tens of mL of lung bases. Texture does. Aerated lung is a
sponge: its voxels average about -850 HU and it is crossed everywhere by vessels and bronchial
walls, so the brightest 5 % of its interior (one voxel in from its edge) lie above about -850 HU
even in emphysema. A gas pocket is empty: its median is near -1000 HU and its interior is uniform.

A component is lung-like when its median HU is above :data:`_GAS_MEDIAN_HU` or its interior's 95th
percentile is above :data:`_GAS_P95_HU`. Among the lung-like components of at least
:data:`_SECOND_LUNG_SHARE` of the largest, the lung on each side of the midline is the one that
reaches highest: lungs lie above the diaphragm and the bowel below it, so even in a scan that holds
only the lung bases and more bowel gas than lung (an abdominal CT), the lungs are the top ones.
Where both reach the scan's top slice, the one with more voxels at parenchymal HU wins.

Limits: a stomach full of mottled food and air can be lung-like, but it is a small component and
loses to real lungs; in a scan holding no lung at all it would be taken as lung, which the QC flags
(implausible lung volume, coverage) then report.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.segment.errors import SegmentationError

__all__ = ["select_lungs"]

# A gas pocket's median HU is below this (pure air, -1000 HU, plus partial volume at its wall) ...
_GAS_MEDIAN_HU = -930.0
# ... and its interior's 95th percentile too (no vessels inside).
_GAS_P95_HU = -880.0
# Air components smaller than this (mL) are never looked at (noise, small bowel bubbles).
_MIN_COMPONENT_ML = 5.0
_SECOND_LUNG_SHARE = 0.15
# Aerated parenchyma (HU, block means): the tie-break between components that reach equally high.
_PARENCHYMA_HU = (-950.0, -600.0)


def _lung_like(hu: NDArray[np.float32], component: NDArray[np.bool_]) -> bool:
    """Median or interior 95th percentile above the gas levels (see the module docstring)."""
    values = hu[component]
    if float(np.median(values)) > _GAS_MEDIAN_HU:
        return True
    interior = ndimage.binary_erosion(component)
    inner = hu[interior] if np.count_nonzero(interior) >= 20 else values
    return float(np.percentile(inner, 95)) > _GAS_P95_HU


def select_lungs(
    candidates: NDArray[np.bool_],
    hu: NDArray[np.float32],
    voxel_ml: float,
    min_lung_ml: float,
    *,
    superior_last: bool = True,
    centre_x: float | None = None,
) -> NDArray[np.bool_]:
    """The lung air regions among ``candidates`` (boolean z/y/x air inside the body, airway removed).

    Args:
        candidates: air below the lung threshold, inside the body, without the airway.
        hu: HU on the same grid (block means).
        voxel_ml: volume of one voxel (mL).
        min_lung_ml: the lungs together must hold at least this much air (mL).
        superior_last: True when increasing z index moves superior.
        centre_x: array x of the body's midline (default: the middle of the array).

    Raises:
        SegmentationError: "no plausible lungs ..." when no component is lung-like or the lung-like
            ones are together smaller than ``min_lung_ml``.
    """
    labels, n = ndimage.label(candidates)
    if n == 0:
        raise SegmentationError("no plausible lungs: there is no air inside the body (is this a chest CT?)")
    if centre_x is None:
        centre_x = 0.5 * (candidates.shape[2] - 1)
    sizes = np.bincount(labels.ravel()).astype(np.float64) * voxel_ml
    sizes[0] = 0.0
    boxes = ndimage.find_objects(labels)
    lung_like: list[int] = []
    gas_ml = 0.0
    for i in np.argsort(sizes)[::-1]:
        if i == 0 or sizes[i] < _MIN_COMPONENT_ML:
            break
        box = boxes[i - 1]
        if _lung_like(hu[box], labels[box] == i):
            lung_like.append(int(i))
        else:
            gas_ml += sizes[i]
    if not lung_like:
        raise SegmentationError(
            "no plausible lungs: the air inside the body looks like bowel or stomach gas "
            f"({gas_ml:.0f} mL, no vessels in it), not lung (is this a chest CT?)"
        )
    largest = sizes[lung_like[0]]
    lung_like = [i for i in lung_like if sizes[i] >= _SECOND_LUNG_SHARE * largest]
    share = {i: _parenchyma_share(hu[boxes[i - 1]], labels[boxes[i - 1]] == i) for i in lung_like}
    lungs = _highest_per_side(lung_like, boxes, labels, superior_last, centre_x, share)
    total = float(sum(sizes[i] for i in lungs))
    if total < min_lung_ml:
        raise SegmentationError(
            f"no plausible lungs: the lung-like air inside the body is {total:.0f} mL, below the "
            f"protocol minimum of {min_lung_ml:.0f} mL (is this a chest CT?)"
        )
    chosen = np.zeros(n + 1, dtype=bool)
    chosen[lungs] = True
    return chosen[labels]


def _parenchyma_share(hu: NDArray[np.float32], component: NDArray[np.bool_]) -> float:
    """Share of the component's voxels at aerated-parenchyma HU (:data:`_PARENCHYMA_HU`)."""
    values = hu[component]
    return float(np.mean((values >= _PARENCHYMA_HU[0]) & (values <= _PARENCHYMA_HU[1])))


def _highest_per_side(
    ids: list[int], boxes: list, labels: NDArray[np.int32], superior_last: bool, centre_x: float,
    share: dict[int, float],
) -> list[int]:
    """On each side of ``centre_x`` (array x), the component of ``ids`` that reaches highest; on a
    tie (both reach the top slice of a scan that cuts them), the one with more of its voxels at
    parenchymal HU (``share``): on a noisy abdominal CT the gas of the stomach and colon is
    lung-like by its spread, larger than the lung base beside it, and still mostly gas."""
    best: dict[bool, tuple[int, float, int]] = {}  # side -> (top, share, id)
    for i in ids:
        box = boxes[i - 1]
        top = box[0].stop - 1 if superior_last else -box[0].start
        columns = np.nonzero((labels[box] == i).any(axis=(0, 1)))[0] + box[2].start
        side = bool(float(columns.mean()) > centre_x)
        if side not in best or (top, share[i]) > best[side][:2]:
            best[side] = (top, share[i], i)
    return [i for _top, _share, i in best.values()]
