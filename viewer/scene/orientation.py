"""Slice orientations, camera axes and orientation letters (radiological convention).

The three views look at the index-aligned world of :mod:`viewer.scene.image_data`:

=========  ===========  ==============  ============  =====================================
view       slice axis   screen right    screen up     with an identity (LPS) direction
=========  ===========  ==============  ============  =====================================
axial      z (array 0)  +x              -y            patient right on screen left, A at top
coronal    y (array 1)  +x              +z            patient right on screen left, S at top
sagittal   x (array 2)  +y              +z            anterior on screen left, S at top
=========  ===========  ==============  ============  =====================================

Letters are computed from ``Volume.direction``, so a flipped or permuted series still shows the
letters of the anatomy actually on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["Orientation", "ViewAxes", "view_axes", "ORIENTATIONS", "lps_letter"]

Orientation = Literal["axial", "coronal", "sagittal"]
ORIENTATIONS: tuple[Orientation, ...] = ("axial", "coronal", "sagittal")


@dataclass(frozen=True)
class ViewAxes:
    """Geometry of one view.

    Attributes:
        slice_axis: numpy axis (0 z, 1 y, 2 x) that the view slices through.
        vtk_axis: the same axis in VTK (x=0, y=1, z=2) order.
        right: world (x, y, z) unit vector pointing to screen right.
        up: world (x, y, z) unit vector pointing to screen top.
        normal: world direction the camera looks along (right x up = -normal).
    """

    slice_axis: int
    vtk_axis: int
    right: NDArray[np.float64]
    up: NDArray[np.float64]

    @property
    def normal(self) -> NDArray[np.float64]:
        # For a camera, screen right = view direction x up, hence direction = up x right.
        return np.cross(self.up, self.right)


def view_axes(orientation: Orientation) -> ViewAxes:
    """Axes of the ``axial``, ``coronal`` or ``sagittal`` view (see module table)."""
    ex, ey, ez = np.eye(3)
    if orientation == "axial":
        return ViewAxes(0, 2, ex, -ey)
    if orientation == "coronal":
        return ViewAxes(1, 1, ex, ez)
    if orientation == "sagittal":
        return ViewAxes(2, 0, ey, ez)
    raise ValueError(f"orientation must be one of {ORIENTATIONS}, got {orientation!r}")


_LETTERS = (("R", "L"), ("A", "P"), ("I", "S"))  # (negative, positive) along LPS x, y, z


def lps_letter(lps_vector: NDArray[np.float64]) -> str:
    """Letter (R/L/A/P/I/S) of the LPS axis closest to ``lps_vector``."""
    v = np.asarray(lps_vector, dtype=float)
    axis = int(np.argmax(np.abs(v)))
    return _LETTERS[axis][1 if v[axis] > 0 else 0]


def screen_letters(orientation: Orientation, direction: NDArray[np.float64]) -> dict[str, str]:
    """Letters at the ``left``, ``right``, ``top`` and ``bottom`` screen edges.

    ``direction`` is ``Volume.direction`` (columns = LPS unit vectors of the x, y, z index axes),
    and world axes are index axes scaled by spacing, so a world vector maps to LPS by
    ``direction @ world``.
    """
    axes = view_axes(orientation)
    direction = np.asarray(direction, dtype=float)
    right = lps_letter(direction @ axes.right)
    left = lps_letter(-(direction @ axes.right))
    top = lps_letter(direction @ axes.up)
    bottom = lps_letter(-(direction @ axes.up))
    return {"left": left, "right": right, "top": top, "bottom": bottom}
