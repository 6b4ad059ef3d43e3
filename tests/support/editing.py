"""Small synthetic scenes for the pure mask-editing tests (no phantom, no I/O).

Grid (z, y, x) = (20, 40, 48) at anisotropic spacing (2.5, 0.8, 0.6) mm. The right lung (label 1)
is the box x 4..21, the left lung (label 2) x 26..43, both y 4..35, z 2..17; HU is -850 inside the
lungs and 40 outside unless a test draws its own pattern.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.editing.brush import EPS_MM2
from quant.editing.editor import MaskEditor
from quant.labels import LEFT_LUNG, RIGHT_LUNG, LesionMasks, LungMasks
from quant.volume import Volume

SHAPE = (20, 40, 48)
SPACING = (2.5, 0.8, 0.6)
RIGHT_BOX = (slice(2, 18), slice(4, 36), slice(4, 22))
LEFT_BOX = (slice(2, 18), slice(4, 36), slice(26, 44))


def make_editor(
    *, lungs_everywhere: bool = False, hu: NDArray[np.int16] | None = None, **settings
) -> MaskEditor:
    """An editor over fresh arrays; ``settings`` are assigned as editor attributes."""
    lung = np.zeros(SHAPE, dtype=np.uint8)
    if lungs_everywhere:
        lung[..., : SHAPE[2] // 2] = RIGHT_LUNG
        lung[..., SHAPE[2] // 2 :] = LEFT_LUNG
    else:
        lung[RIGHT_BOX] = RIGHT_LUNG
        lung[LEFT_BOX] = LEFT_LUNG
    if hu is None:
        hu = np.where(lung > 0, -850, 40).astype(np.int16)
    volume = Volume(hu=hu, spacing=SPACING)
    editor = MaskEditor(volume, LungMasks(lung), LesionMasks(np.zeros(SHAPE, dtype=np.uint8)))
    for key, value in settings.items():
        setattr(editor, key, value)
    return editor


def analytic_ball(centre, radius_mm: float, spacing=SPACING, shape=SHAPE, disk_axis=None):
    """Boolean mask of voxels whose centre is within ``radius_mm`` (mm) of ``centre`` (z, y, x);
    for a disk, only on the slice along ``disk_axis`` through the (integer) centre."""
    grids = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")
    d2 = np.zeros(shape)
    for ax in range(3):
        if ax == disk_axis:
            continue
        d2 += ((grids[ax] - centre[ax]) * spacing[ax]) ** 2
    inside = d2 <= radius_mm**2 + EPS_MM2
    if disk_axis is not None:
        inside &= grids[disk_axis] == centre[disk_axis]
    return inside


def analytic_capsule(a, b, radius_mm: float, spacing=SPACING, shape=SHAPE):
    """Voxels within ``radius_mm`` (mm) of the segment a-b, by brute force over the grid."""
    grids = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij"), -1)
    s = np.asarray(spacing)
    pa, pb = np.asarray(a) * s, np.asarray(b) * s
    v = grids * s
    d = pb - pa
    t = np.clip(((v - pa) @ d) / (d @ d), 0, 1)[..., None]
    dist2 = (((v - pa - t * d)) ** 2).sum(-1)
    return dist2 <= radius_mm**2 + EPS_MM2


def n_components(mask: NDArray[np.bool_], connectivity: int = 6) -> int:
    rank = {6: 1, 18: 2, 26: 3}[connectivity]
    return int(ndimage.label(mask, structure=ndimage.generate_binary_structure(3, rank))[1])
