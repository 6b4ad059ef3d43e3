"""The picture of one slice view: the composed RGBA slice, its cache, and the textured quad.

Composing
---------
The slice is composed on the CPU (:mod:`viewer.scene.slice_composite`) into :attr:`SliceImage.packed`,
whose memory *is* the texture's ``vtkImageData``; VTK uploads it as it is. Work is lazy: label
edits and slice changes only mark regions, and :meth:`SliceImage.compose_pending` (called just
before a render) recomposes them, a label edit only its bounding box on this slice.

Neighbour cache: a scroll would recompose a whole slice (1-2 ms) before its frame. Instead the
view asks :meth:`SliceImage.prefetch_next` in idle time to compose the slices next to the shown
one (k +- 1, k +- 2, the scroll direction first), and the slice being left is kept as well, so a
scroll only copies a ready slice. Label edits mark the changed box on cached slices too (they are
recomposed there when shown); a window/level or label-style change empties the cache.

Drawing
-------

Why a 2-D textured quad and not ``vtkImageSliceMapper``: measured with Mesa llvmpipe (Xvfb,
2 cores) on a 700x700 view, drawing a 512x512 RGBA slice uploaded anew each frame costs ~12 ms CPU
per frame through ``vtkImageSliceMapper`` and ~6 ms as a ``vtkTexturedActor2D``:

* the image slice mapper's internal 3-D actor asks its texture whether it is translucent, which
  for RGBA data scans every alpha byte after each upload (~5 ms); it also runs the 3-D surface
  shader and the depth test on every fragment (~1 ms more than a 2-D quad);
* a 2-D actor (``vtkPolyDataMapper2D`` whose points are world mm, projected by the camera through
  a world ``vtkCoordinate``) draws in the overlay pass with the simplest shader, no depth test,
  and no translucency check. Every texel is opaque anyway (alpha 255).

The crosshair and brush lines and the text are 2-D overlays too, added after the picture, so they
are drawn over it (:mod:`viewer.scene.annotations`).

Geometry: the quad covers whole voxels, from the edge of voxel 0 to the far edge of the last
voxel, in the index-aligned world frame of :mod:`viewer.scene.image_data`; texel (row r, column c)
therefore lies exactly over its voxel and voxel centres fall on texel centres. Its corners sit at
the shown slice's world position along the view's axis.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonCore import vtkFloatArray, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkRenderingCore import (
    vtkCoordinate,
    vtkPolyDataMapper2D,
    vtkTexture,
    vtkTexturedActor2D,
)

from quant.labels import GGO, SOLID
from viewer.scene.image_data import Box
from viewer.scene.layers import ViewerLayers
from viewer.scene.orientation import ViewAxes
from viewer.scene.slice_composite import compose, rgba_table

__all__ = ["SliceImage"]

Region = tuple[int, int, int, int]  # (r0, r1, c0, c1) rows/cols of the slice, hi exclusive
_CACHE_REACH = 2  # cached slices lie within this many slices of the shown one


class SliceImage:
    """The composed slice, its neighbour cache, and the textured quad of one slice view.

    Args:
        layers: the case's CT and live label maps, and the labels' look.
        axes: the view's axes (:func:`viewer.scene.orientation.view_axes`).
        level, width: the initial CT window (HU).

    Attributes:
        rgba: (rows, cols, 4) uint8, rows/cols = the two in-plane numpy axes in (z, y, x) order.
        packed: the same memory as (rows, cols) uint32 (what ``compose`` writes).
        actor: the textured quad to add to a renderer.
    """

    def __init__(self, layers: ViewerLayers, axes: ViewAxes, level: float, width: float) -> None:
        self.layers = layers
        self.axes = axes
        shape_zyx = layers.volume.shape
        spacing_xyz = layers.volume.spacing[::-1]
        self.slice_index = 0
        self._level, self._width = float(level), float(width)
        self._table: NDArray[np.uint32] | None = None  # (label, HU) -> RGBA, see compose
        self._style_version = -1
        self._outline_rgba = (0.0, 0.0, 0.0, 0.0)
        self._lesion_outlines: tuple[tuple[int, tuple[float, float, float, float]], ...] = ()
        self._pending: list[Region] | None = None
        self._cache: dict[int, tuple[NDArray[np.uint32], list[Region] | None]] = {}
        self._step = 1  # direction of the last slice change: prefetch that way first
        keep = [a for a in range(3) if a != axes.slice_axis]  # numpy axes of rows, cols
        self._keep = keep
        rows, cols = int(shape_zyx[keep[0]]), int(shape_zyx[keep[1]])
        self.rgba: NDArray[np.uint8] = np.zeros((rows, cols, 4), np.uint8)
        self.rgba[..., 3] = 255
        self.packed: NDArray[np.uint32] = self.rgba.view(np.uint32)[..., 0]

        # Texture image: columns along its x, rows along its y (C order: column fastest).
        self.image = vtkImageData()
        self.image.SetDimensions(cols, rows, 1)
        self._scalars = numpy_to_vtk(self.rgba.reshape(-1, 4), deep=False)
        self._scalars.SetName("rgba")
        self.image.GetPointData().SetScalars(self._scalars)
        self.texture = vtkTexture()
        self.texture.SetInputData(self.image)
        self.texture.SetColorModeToDirectScalars()  # bytes are colours: no lookup table
        self.texture.InterpolateOn()
        self.texture.RepeatOff()
        self.texture.EdgeClampOn()

        # World (x, y, z) directions of texture s (columns) and t (rows): numpy axis a is VTK 2-a.
        spacing = np.asarray(spacing_xyz, dtype=float)
        s_axis, t_axis = 2 - keep[1], 2 - keep[0]
        lo = -0.5 * spacing
        lo[axes.vtk_axis] = 0.0
        s_vec = np.zeros(3)
        s_vec[s_axis] = cols * spacing[s_axis]
        t_vec = np.zeros(3)
        t_vec[t_axis] = rows * spacing[t_axis]
        self._corners = np.array([lo, lo + s_vec, lo + s_vec + t_vec, lo + t_vec])
        self._points = vtkPoints()
        for p in self._corners:
            self._points.InsertNextPoint(*p)
        tcoords = vtkFloatArray()
        tcoords.SetNumberOfComponents(2)
        for st in ((0, 0), (1, 0), (1, 1), (0, 1)):
            tcoords.InsertNextTuple2(*st)
        quad = vtkCellArray()
        for tri in ((0, 1, 2), (0, 2, 3)):
            quad.InsertNextCell(3, tri)
        poly = vtkPolyData()
        poly.SetPoints(self._points)
        poly.SetPolys(quad)
        poly.GetPointData().SetTCoords(tcoords)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        mapper.ScalarVisibilityOff()
        world = vtkCoordinate()  # the quad's points are world mm, projected by the camera
        world.SetCoordinateSystemToWorld()
        mapper.SetTransformCoordinate(world)
        self.actor = vtkTexturedActor2D()  # see the module docstring
        self.actor.SetMapper(mapper)
        self.actor.SetTexture(self.texture)
        self.actor.PickableOff()

        self.n_slices = int(shape_zyx[axes.slice_axis])
        self._slice_mm = float(spacing[axes.vtk_axis])
        self.invalidate()  # nothing composed yet

    # ------------------------------------------------------------------ state
    def show(self, index: int) -> None:
        """Show slice ``index``: from the cache when it is there, else composed at next render."""
        self._check_style()
        old = self.slice_index
        if index != old:
            self._step = 1 if index > old else -1
            if self._pending is None:  # fully composed: keep it for a scroll back
                self._cache[old] = (self.packed.copy(), None)
        self.slice_index = index
        for i, corner in enumerate(self._corners):
            corner[self.axes.vtk_axis] = index * self._slice_mm
            self._points.SetPoint(i, *corner)
        self._points.Modified()
        entry = self._cache.pop(index, None)
        if entry is None:
            self.invalidate()
        else:
            self.packed[...] = entry[0]
            self._pending = entry[1]
            self.modified()
        self._evict()

    def set_window(self, level: float, width: float) -> None:
        """CT window (HU); the next render recomposes the slice, the cache is dropped."""
        self._level, self._width = float(level), float(width)
        self._table = None
        self._cache.clear()
        self.invalidate()

    def _check_style(self) -> None:
        if self.layers.style_version != self._style_version or self._table is None:
            self._style_version = self.layers.style_version
            self._table = rgba_table(self._level, self._width, [
                (0.0, 0.0, 0.0, 0.0), self.layers.fill_rgba("ggo"), self.layers.fill_rgba("solid")])
            self._outline_rgba = self.layers.outline_rgba("lung")
            self._lesion_outlines = tuple((value, self.layers.outline_rgba(name))  # type: ignore[arg-type]
                                          for value, name in ((GGO, "ggo"), (SOLID, "solid")))
            self._cache.clear()
            self.invalidate()

    def _evict(self) -> None:
        for k in [k for k in self._cache if abs(k - self.slice_index) > _CACHE_REACH]:
            del self._cache[k]

    # ------------------------------------------------------------------ invalidation
    def _region(self, box: Box) -> Region:
        rows, cols = self.packed.shape
        r, c = self._keep
        return (max(box[0][r], 0), min(box[1][r], rows), max(box[0][c], 0), min(box[1][c], cols))

    def invalidate(self, box: Box | None = None) -> None:
        """Mark the whole shown slice (``box`` None) or its part inside voxel ``box`` (z/y/x,
        hi exclusive) for recomposition before the next render."""
        if box is None:
            self._pending = [(0, self.packed.shape[0], 0, self.packed.shape[1])]
            return
        if self._pending is None:
            self._pending = []
        self._pending.append(self._region(box))

    def labels_changed(self, box: Box) -> bool:
        """Note a label edit inside ``box`` on the shown and cached slices; True when the shown
        slice is affected (it needs a render)."""
        axis = self.axes.slice_axis
        region = self._region(box)
        for k, (packed, pending) in self._cache.items():
            if box[0][axis] <= k < box[1][axis]:
                self._cache[k] = (packed, (pending or []) + [region])
        if box[0][axis] <= self.slice_index < box[1][axis]:
            self.invalidate(box)
            return True
        return False

    # ------------------------------------------------------------------ composing
    def _compose(self, index: int, regions: list[Region], out: NDArray[np.uint32]) -> None:
        plane: list[slice | int] = [slice(None)] * 3
        plane[self.axes.slice_axis] = index
        at = tuple(plane)
        # Views, not copies: compose() copies only the region it needs.
        hu = self.layers.volume.hu[at]
        lesion = self.layers.lesions.labels[at]
        lung = self.layers.lungs.labels[at]
        rows, cols = hu.shape
        for r0, r1, c0, c1 in regions:
            if r1 <= r0 or c1 <= c0:
                continue
            # One pixel of context so the lung outline is right at the region's border.
            R0, R1, C0, C1 = max(r0 - 1, 0), min(r1 + 1, rows), max(c0 - 1, 0), min(c1 + 1, cols)
            margin = (r0 - R0, R1 - r1, c0 - C0, C1 - c1)
            compose(hu[R0:R1, C0:C1], lesion[R0:R1, C0:C1], lung[R0:R1, C0:C1], self._table,
                    self._outline_rgba, out[r0:r1, c0:c1], margin, self._lesion_outlines)

    def compose_pending(self) -> bool:
        """Recompose what is marked on the shown slice; True if the texture changed."""
        self._check_style()
        if not self._pending:
            self._pending = None
            return False
        self._compose(self.slice_index, self._pending, self.packed)
        self._pending = None
        self.modified()
        return True

    def prefetch_next(self) -> bool:
        """Compose one not-yet-cached neighbour of the shown slice (idle work); False when all
        neighbours within reach are ready."""
        self._check_style()
        k, d = self.slice_index, self._step
        for index in (k + d, k - d, k + 2 * d, k - 2 * d):
            if not 0 <= index < self.n_slices:
                continue
            entry = self._cache.get(index)
            if entry is None:
                out = np.empty_like(self.packed)
                self._compose(index, [(0, out.shape[0], 0, out.shape[1])], out)
                self._cache[index] = (out, None)
                return True
            if entry[1]:
                self._compose(index, entry[1], entry[0])
                self._cache[index] = (entry[0], None)
                return True
        return False

    def modified(self) -> None:
        """Tell VTK that :attr:`packed` changed (it re-uploads the texture on the next render)."""
        self._scalars.Modified()
        self.image.Modified()
