"""Air outside the patient: what the lungs are told apart from first.

Air (below the lung threshold) connected to the in-plane edge of the image is outside the body
(:func:`air_connected_to_edge`). A reconstruction whose field of view cuts the chest wall
(targeted to the lungs, or a large patient) breaks that rule: where the lung reaches the image edge, its air
touches the edge too and would be taken for outside air. :func:`outside_air` then closes the
body along the image edge first: on each slice and each edge, the stretch between the first and
the last body voxel on that edge counts as body, so air enclosed by the body and those stretches
(a lung cut by the edge) is inside, while the air in front of and behind the body still reaches
the edge. The body is the largest non-air component of the slice, so the CT table and the air
between it and the patient stay outside. Where the body stays inside the image, the first rule
is used.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["outside_air", "air_connected_to_edge"]


def outside_air(air: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Air (bool, z/y/x) outside the patient: :func:`air_connected_to_edge`, or, where the body
    reaches the image edge on some slice (over at least :data:`_CUT_MIN_VOXELS`), the air not
    enclosed by the body closed along the image edges (see the module docstring)."""
    edges = (air[:, 0, :], air[:, -1, :], air[:, :, 0], air[:, :, -1])
    if all(e.all() for e in edges):
        return air_connected_to_edge(air)  # the usual full field of view: nothing to label
    bodies = [_largest_component(~air[z]) for z in range(air.shape[0])]
    if not any(max(b[0].sum(), b[-1].sum(), b[:, 0].sum(), b[:, -1].sum()) >= _CUT_MIN_VOXELS for b in bodies):
        return air_connected_to_edge(air)
    out = np.zeros(air.shape, dtype=bool)
    for z, body in enumerate(bodies):
        body = np.pad(body, 1)
        for edge, frame in ((body[1, 1:-1], body[0, 1:-1]), (body[-2, 1:-1], body[-1, 1:-1]),
                            (body[1:-1, 1], body[1:-1, 0]), (body[1:-1, -2], body[1:-1, -1])):
            hit = np.flatnonzero(edge)
            if hit.size:
                frame[hit[0]:hit[-1] + 1] = True
        out[z] = air[z] & ~ndimage.binary_fill_holes(body)[1:-1, 1:-1]
    return out


def air_connected_to_edge(air: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Air (bool, z/y/x) connected (3-D) to the in-plane (y/x) edge of the volume."""
    labels, n = ndimage.label(air)
    if n == 0:
        return np.zeros(air.shape, dtype=bool)
    touches = np.zeros(n + 1, dtype=bool)
    for face in (labels[:, 0, :], labels[:, -1, :], labels[:, :, 0], labels[:, :, -1]):
        touches[np.unique(face)] = True
    touches[0] = False
    return touches[labels]


# The body reaching the image edge over at least this many voxels of one slice: the field of view
# cuts it.
_CUT_MIN_VOXELS = 3


def _largest_component(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The largest connected component of a 2-D ``mask`` (the patient, not the table; empty if
    ``mask`` is)."""
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))
