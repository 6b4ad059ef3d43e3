"""Air outside the patient: what the lungs are told apart from first.

Air (below the lung threshold) connected to the in-plane edge of the image is outside the body
(:func:`outside_air`). A reconstruction whose field of view cuts the chest wall (targeted to the
lungs, or a large patient) breaks that rule: where the lung reaches the image edge, its air
touches the edge too and would be taken for outside air. :func:`outside_air_cut_fov` closes the
body along the image edge first: on each slice and each edge, the stretch between the first and
the last body voxel on that edge counts as body, so air enclosed by the body and those stretches
(a lung cut by the edge) is inside, while the air in front of and behind the body still reaches
the edge. The body is the largest non-air component of the slice, so the CT table and the air
between it and the patient stay outside. Segmentation uses this rule when the body reaches the
image edge (:func:`body_cut_by_fov`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["outside_air", "outside_air_cut_fov", "body_cut_by_fov"]


def outside_air(air: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Air (bool, z/y/x) connected (3-D) to the in-plane (y/x) edge of the volume."""
    labels, n = ndimage.label(air)
    if n == 0:
        return np.zeros(air.shape, dtype=bool)
    touches = np.zeros(n + 1, dtype=bool)
    for face in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        touches[np.unique(face)] = True
    touches[0] = False
    return touches[labels]


def outside_air_cut_fov(air: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Air (bool, z/y/x) outside the body when the field of view may cut it: per slice, the air not
    enclosed by the body closed along the image edges (see the module docstring)."""
    out = np.zeros(air.shape, dtype=bool)
    for z in range(air.shape[0]):
        body = np.pad(_largest_component(~air[z]), 1)
        for edge, frame in ((body[1, 1:-1], body[0, 1:-1]), (body[-2, 1:-1], body[-1, 1:-1]),
                            (body[1:-1, 1], body[1:-1, 0]), (body[1:-1, -2], body[1:-1, -1])):
            hit = np.flatnonzero(edge)
            if hit.size:
                frame[hit[0]:hit[-1] + 1] = True
        out[z] = air[z] & ~ndimage.binary_fill_holes(body)[1:-1, 1:-1]
    return out


def body_cut_by_fov(air: NDArray[np.bool_], min_voxels: int = 3) -> bool:
    """Whether the body (the largest non-air component of a slice) reaches the in-plane image edge
    over at least ``min_voxels`` on some slice: the field of view cuts it."""
    edges = (air[:, 0, :], air[:, -1, :], air[:, :, 0], air[:, :, -1])
    if all(e.all() for e in edges):
        return False  # nothing but air on the edges (the usual full field of view): no labelling
    for z in range(air.shape[0]):
        body = _largest_component(~air[z])
        if max(body[0].sum(), body[-1].sum(), body[:, 0].sum(), body[:, -1].sum()) >= min_voxels:
            return True
    return False


def _largest_component(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The largest connected component of a 2-D ``mask`` (the patient, not the table; empty if
    ``mask`` is)."""
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))
