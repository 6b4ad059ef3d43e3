"""The reader's measurements drawn on a slice view: ruler lines and ROI circles.

A measurement is drawn in views of the orientation it was made in, on its slice only. All of a
view's measurements share one 2-D line actor (world mm points projected by the camera, as the
crosshair: :func:`viewer.scene.annotations.line_actor`), rebuilt when the list or the slice changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
from vtkmodules.vtkCommonDataModel import vtkCellArray
from vtkmodules.vtkRenderingCore import vtkRenderer

from quant.measure import Measurement
from viewer.scene.annotations import line_actor
from viewer.scene.orientation import ViewAxes

__all__ = ["MeasureOverlay"]

_RING = 48
_COLOUR = (1.0, 0.5, 0.9)  # pink: apart from the cyan lung outline and the lesion colours


class MeasureOverlay:
    """Measurement lines of one slice view (``axes``: the view's, ``spacing_xyz``: mm)."""

    def __init__(self, renderer: vtkRenderer, axes: ViewAxes, spacing_xyz: np.ndarray) -> None:
        self.axes = axes
        self.spacing_xyz = np.asarray(spacing_xyz, dtype=float)
        self.actor, self._points = line_actor(1, [], _COLOUR)
        self.actor.VisibilityOff()
        renderer.AddViewProp(self.actor)
        t = np.linspace(0, 2 * np.pi, _RING, endpoint=False)[:, None]
        self._unit_ring = np.cos(t) * axes.right + np.sin(t) * axes.up
        self.measurements: list[Measurement] = []

    def _world(self, p_zyx) -> np.ndarray:
        return np.asarray(p_zyx, dtype=float)[::-1] * self.spacing_xyz

    def update(self, measurements: Sequence[Measurement], slice_index: int) -> int:
        """Draw the measurements made on this view's axis at ``slice_index``; returns how many."""
        self.measurements = list(measurements)
        axis = self.axes.slice_axis
        points: list[np.ndarray] = []
        segments: list[tuple[int, int]] = []
        shown = 0
        for m in self.measurements:
            if m.axis != axis or int(round(m.points[0][axis])) != slice_index:
                continue
            shown += 1
            base = len(points)
            if m.kind == "ruler":
                points += [self._world(m.points[0]), self._world(m.points[1])]
                segments.append((base, base + 1))
            else:
                centre, edge = self._world(m.points[0]), self._world(m.points[1])
                radius = float(np.linalg.norm((edge - centre) * (np.abs(self.axes.right) + np.abs(self.axes.up))))
                points += list(centre + radius * self._unit_ring)
                segments += [(base + i, base + (i + 1) % _RING) for i in range(_RING)]
        if not segments:
            self.actor.VisibilityOff()
            return 0
        xyz = np.array(points, dtype=float)
        self._points.SetData(numpy_to_vtk(xyz, deep=True))
        offsets = np.arange(0, 2 * len(segments) + 1, 2, dtype=np.int64)
        connectivity = np.asarray(segments, dtype=np.int64).ravel()
        lines = vtkCellArray()
        lines.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True), numpy_to_vtkIdTypeArray(connectivity, deep=True))
        poly = self.actor.GetMapper().GetInput()
        poly.SetLines(lines)
        poly.Modified()
        self.actor.VisibilityOn()
        return shown
