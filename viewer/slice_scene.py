"""One axial, coronal or sagittal slice scene (pure VTK, no Qt): the Logic half of a SliceView.

The scene draws, in one ``vtkRenderer``:

* the slice image: CT in a HU window, ground-glass and solid lesion colours and the lung outline,
  composed on the CPU into one RGB texture (:mod:`viewer.slice_composite`) whose numpy buffer is
  the ``vtkImageData``'s memory; a label edit recomposes only its bounding box on this slice,
  then marks the image ``Modified()``;
* crosshair lines, the brush outline, and text (:mod:`viewer.annotations`): view name + slice
  number, orientation letters, HU and LPS mm under the cursor, window/level.

Display <-> voxel mapping
-------------------------
The camera is parallel and axis-aligned (see :mod:`viewer.orientation`). A display point
(VTK display pixels, origin bottom-left) goes through ``vtkRenderer.DisplayToWorld`` to a world
point in mm (index-aligned frame of :mod:`viewer.image_data`); its in-plane coordinates divided by
the spacing give fractional voxel indices, and the through-plane index is the current slice.
Voxel ``i`` covers world ``[(i - 0.5) * s, (i + 0.5) * s)``, so rounding picks the voxel under the
pixel. :meth:`SliceScene.index_to_display` is the inverse (used by tests to aim mouse events).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import (
    vtkImageSlice,
    vtkImageSliceMapper,
    vtkRenderer,
)

from viewer.annotations import ViewText, line_actor
from viewer.image_data import Box
from viewer.slice_composite import compose, rgba_table
from viewer.layers import ViewerLayers
from viewer.orientation import Orientation, screen_letters, view_axes

__all__ = ["SliceScene"]

_TITLES = {"axial": "Axial", "coronal": "Coronal", "sagittal": "Sagittal"}
# vtkCornerAnnotation slots: 0 lower-left, 1 lower-right, 2 upper-left, 3 upper-right,
# 4 lower edge, 5 right edge, 6 left edge, 7 upper edge.
_LL, _LR, _UL, _UR, _BOTTOM, _RIGHT, _LEFT, _TOP = range(8)


class SliceScene:
    """A slice view's VTK scene over shared :class:`ViewerLayers`.

    Args:
        layers: the case's CT and live label images.
        orientation: "axial", "coronal" or "sagittal".
        renderer: an existing renderer to fill (e.g. a viewport of an offscreen window);
            a new one by default.
        text_size: font size (points) of the annotations.
    """

    def __init__(
        self,
        layers: ViewerLayers,
        orientation: Orientation,
        renderer: vtkRenderer | None = None,
        text_size: int = 14,
    ) -> None:
        self.layers = layers
        self.orientation: Orientation = orientation
        self.axes = view_axes(orientation)
        self.volume = layers.volume
        self.spacing_xyz = np.array(self.volume.spacing[::-1], dtype=float)
        self.shape_xyz = np.array(self.volume.shape[::-1], dtype=int)
        self.renderer = renderer or vtkRenderer()
        self.renderer.SetBackground(*layers.settings.background)
        self.slice_index = int(self.volume.shape[self.axes.slice_axis] // 2)
        self.cursor_zyx: NDArray[np.float64] | None = None
        self.crosshair_zyx = (np.array(self.volume.shape, dtype=float) - 1) / 2.0
        self.crosshair_visible = True
        self.brush_radius_mm = 0.0
        wl = layers.settings.default_window
        self._level, self._width = wl.level, wl.width

        # --- the slice image: one RGB texture composed on the CPU --------------------
        # (see viewer.slice_composite for why). The numpy buffer *is* the VTK image's memory.
        self._table: NDArray[np.uint32] | None = None  # (label, HU) -> RGBA, see compose
        self._style_version = -1
        self._outline_rgba = (0.0, 0.0, 0.0, 0.0)
        plane_shape = [int(d) for d in self.volume.shape]
        plane_shape[self.axes.slice_axis] = 1
        # (z, y, x, rgba) one slice thick; the packed uint32 view is what compose() writes.
        self._rgb = np.zeros((*plane_shape, 4), np.uint8)
        self._rgb2d = np.squeeze(self._rgb, axis=self.axes.slice_axis)  # view (rows, cols, 4)
        self._packed2d = self._rgb2d.view(np.uint32)[..., 0]  # view (rows, cols)
        dims = [int(d) for d in self.shape_xyz]
        dims[self.axes.vtk_axis] = 1
        self.image = vtkImageData()
        self.image.SetDimensions(*dims)
        self.image.SetSpacing(*self.spacing_xyz)
        scalars = numpy_to_vtk(self._rgb.reshape(-1, 4), deep=False)
        scalars.SetName("rgba")
        self.image.GetPointData().SetScalars(scalars)
        self._scalars = scalars
        self.image_mapper = vtkImageSliceMapper()
        self.image_mapper.SetInputData(self.image)
        self.image_mapper.SetOrientation(self.axes.vtk_axis)
        self.image_mapper.SliceAtFocalPointOff()
        self.image_mapper.SliceFacesCameraOff()
        self.image_mapper.SetSliceNumber(0)
        self.image_actor = vtkImageSlice()
        self.image_actor.SetMapper(self.image_mapper)
        prop = self.image_actor.GetProperty()
        prop.SetColorWindow(255.0)  # RGBA bytes shown as they are
        prop.SetColorLevel(127.5)
        prop.SetInterpolationTypeToLinear()
        self.renderer.AddViewProp(self.image_actor)
        # Regions to recompose; whoever renders calls compose_pending() first (SliceView.render,
        # the snapshot). Not a renderer StartEvent observer: a Python callback inside VTK's
        # render crashed intermittently (EGL, VTK 9.7).
        self._pending: list[tuple[int, int, int, int]] | None = None

        # --- lines: crosshair and brush ----------------------------------------------
        # Opaque lines on purpose: any translucent prop sends the frame through VTK's
        # translucent pass, which costs ~8 ms per frame in software GL.
        self.crosshair_actor, self._crosshair_points = line_actor(
            4, [(0, 1), (2, 3)], layers.settings.crosshair
        )
        n = 64
        self.brush_actor, self._brush_points = line_actor(
            n, [(i, (i + 1) % n) for i in range(n)], layers.settings.brush
        )
        self.brush_actor.VisibilityOff()
        self.renderer.AddActor(self.crosshair_actor)
        self.renderer.AddActor(self.brush_actor)

        # --- text -----------------------------------------------------------------------
        self.annotation = ViewText(self.renderer, layers.settings.text, font_size=text_size)
        letters = screen_letters(orientation, self.volume.direction)
        self.annotation.SetText(_LEFT, letters["left"])
        self.annotation.SetText(_RIGHT, letters["right"])
        self.annotation.SetText(_TOP, letters["top"])
        self.annotation.SetText(_BOTTOM, letters["bottom"])
        self.letters = letters

        self._setup_camera()
        self.set_window_level(self._level, self._width)
        self.set_slice(self.slice_index, force=True)

    # ------------------------------------------------------------------ construction
    def _setup_camera(self) -> None:
        extent_mm = (self.shape_xyz - 1) * self.spacing_xyz
        self._center = extent_mm / 2.0
        self._diag = float(np.linalg.norm(extent_mm)) + 1.0
        camera = self.renderer.GetActiveCamera()
        camera.ParallelProjectionOn()
        distance = 2.0 * self._diag
        camera.SetFocalPoint(*self._center)
        camera.SetPosition(*(self._center - distance * self.axes.normal))
        camera.SetViewUp(*self.axes.up)
        # Fixed clipping range: every slice of the volume lies between the near and far planes.
        camera.SetClippingRange(distance - self._diag, distance + self._diag)
        self.fit(1.0)

    # ------------------------------------------------------------------ slice
    @property
    def n_slices(self) -> int:
        return int(self.volume.shape[self.axes.slice_axis])

    def set_slice(self, index: int, force: bool = False) -> bool:
        """Show slice ``index`` (clamped) of this view's axis; True if it changed."""
        index = int(np.clip(index, 0, self.n_slices - 1))
        if index == self.slice_index and not force:
            return False
        self.slice_index = index
        origin = [0.0, 0.0, 0.0]
        origin[self.axes.vtk_axis] = self.slice_world()
        self.image.SetOrigin(*origin)
        self.invalidate()
        self._update_crosshair()
        self._update_brush()
        self._update_slice_text()
        return True

    def slice_world(self) -> float:
        """World coordinate (mm) of the shown slice along the view's axis."""
        return self.slice_index * float(self.spacing_xyz[self.axes.vtk_axis])

    # ------------------------------------------------------------------ composing
    def invalidate(self, box: Box | None = None) -> None:
        """Mark the whole slice (``box`` None) or the part of it inside voxel ``box`` for
        recomposition; the work happens once, just before the next render."""
        rows, cols = self._rgb2d.shape[:2]
        if box is None:
            self._pending = [(0, rows, 0, cols)]
            return
        keep = [a for a in range(3) if a != self.axes.slice_axis]
        r0, c0 = box[0][keep[0]], box[0][keep[1]]
        r1, c1 = box[1][keep[0]], box[1][keep[1]]
        if self._pending is None:
            self._pending = []
        self._pending.append((max(r0, 0), min(r1, rows), max(c0, 0), min(c1, cols)))

    def compose_pending(self) -> None:
        """Recompose what :meth:`invalidate` marked; call before rendering the scene."""
        if self.layers.style_version != self._style_version or self._table is None:
            self._style_version = self.layers.style_version
            self._table = rgba_table(self._level, self._width, [
                (0.0, 0.0, 0.0, 0.0), self.layers.rgba("ggo"), self.layers.rgba("solid")])
            self._outline_rgba = self.layers.rgba("lung")
            self.invalidate()
        if not self._pending:
            return
        # Views, not np.take copies: compose() copies only the region it needs.
        plane: list[slice | int] = [slice(None)] * 3
        plane[self.axes.slice_axis] = self.slice_index
        at = tuple(plane)
        hu = self.volume.hu[at]
        lesion = self.layers.lesions.labels[at]
        lung = self.layers.lungs.labels[at]
        rows, cols = hu.shape
        for r0, r1, c0, c1 in self._pending:
            if r1 <= r0 or c1 <= c0:
                continue
            # One pixel of context so the lung outline is right at the region's border.
            R0, R1, C0, C1 = max(r0 - 1, 0), min(r1 + 1, rows), max(c0 - 1, 0), min(c1 + 1, cols)
            margin = (r0 - R0, R1 - r1, c0 - C0, C1 - c1)
            compose(hu[R0:R1, C0:C1], lesion[R0:R1, C0:C1], lung[R0:R1, C0:C1], self._table,
                    self._outline_rgba, self._packed2d[r0:r1, c0:c1], margin)
        self._pending = None
        self._scalars.Modified()
        self.image.Modified()

    def slice_rgb(self) -> NDArray[np.uint8]:
        """The composed slice (rows, cols, 3) RGB as it will be drawn (composes pending work)."""
        self.compose_pending()
        return self._rgb2d[..., :3]

    def intersects(self, box: Box) -> bool:
        """True when the voxel ``box`` ((lo), (hi) exclusive, z/y/x) crosses the shown slice."""
        axis = self.axes.slice_axis
        return box[0][axis] <= self.slice_index < box[1][axis]

    # ------------------------------------------------------------------ window/level
    @property
    def window_level(self) -> tuple[float, float]:
        """Current (level, width) in HU."""
        return self._level, self._width

    def set_window_level(self, level: float, width: float) -> None:
        self._level, self._width = float(level), max(1.0, float(width))
        self._table = None  # rebuilt (with the labels' colours) before the next render
        self.invalidate()
        self.annotation.SetText(_LR, f"W {self._width:.0f}  L {self._level:.0f}")

    # ------------------------------------------------------------------ camera
    def fit(self, aspect: float) -> None:
        """Zoom so the whole slice fits a viewport of width/height ratio ``aspect``."""
        extent = (self.shape_xyz * self.spacing_xyz)
        w = float(abs(extent @ self.axes.right))
        h = float(abs(extent @ self.axes.up))
        scale = max(h / 2.0, w / 2.0 / max(aspect, 1e-6)) * 1.02
        self.renderer.GetActiveCamera().SetParallelScale(scale)

    def zoom(self, factor: float) -> None:
        """Magnify by ``factor`` (>1 zooms in)."""
        camera = self.renderer.GetActiveCamera()
        camera.SetParallelScale(camera.GetParallelScale() / factor)

    def pan(self, d_display_x: float, d_display_y: float) -> None:
        """Move the image by a display-pixel offset (the image follows the mouse)."""
        camera = self.renderer.GetActiveCamera()
        height = max(1, self.renderer.GetSize()[1])
        mm_per_pixel = 2.0 * camera.GetParallelScale() / height
        shift = -(d_display_x * self.axes.right + d_display_y * self.axes.up) * mm_per_pixel
        camera.SetFocalPoint(*(np.array(camera.GetFocalPoint()) + shift))
        camera.SetPosition(*(np.array(camera.GetPosition()) + shift))

    # ------------------------------------------------------------------ mapping
    def display_to_index(self, x: float, y: float) -> NDArray[np.float64]:
        """Fractional (z, y, x) voxel index under display pixel (x, y) on the shown slice."""
        r = self.renderer
        r.SetDisplayPoint(float(x), float(y), 0.0)
        r.DisplayToWorld()
        wx, wy, wz, w = r.GetWorldPoint()
        world = np.array([wx, wy, wz]) / (w if w else 1.0)
        ijk = world / self.spacing_xyz
        ijk[self.axes.vtk_axis] = self.slice_index
        return ijk[::-1].copy()

    def index_to_display(self, point_zyx) -> tuple[float, float]:
        """Display pixel (x, y), origin bottom-left, of voxel centre ``point_zyx``."""
        world = np.asarray(point_zyx, dtype=float)[::-1] * self.spacing_xyz
        r = self.renderer
        r.SetWorldPoint(*world, 1.0)
        r.WorldToDisplay()
        x, y, _ = r.GetDisplayPoint()
        return float(x), float(y)

    def voxel_at(self, point_zyx) -> tuple[int, int, int] | None:
        """Nearest voxel (z, y, x) to a fractional index, or None outside the volume."""
        idx = np.rint(np.asarray(point_zyx, dtype=float)).astype(int)
        if np.any(idx < 0) or np.any(idx >= np.array(self.volume.shape)):
            return None
        return int(idx[0]), int(idx[1]), int(idx[2])

    # ------------------------------------------------------------------ overlays
    def _plane_offset(self) -> NDArray[np.float64]:
        # Lines sit a little in front of the image so they are never hidden by it.
        return -self.axes.normal * 0.25 * float(self.spacing_xyz.min())

    def set_crosshair(self, point_zyx, visible: bool = True) -> None:
        self.crosshair_zyx = np.asarray(point_zyx, dtype=float).copy()
        self.crosshair_visible = visible
        self._update_crosshair()

    def _update_crosshair(self) -> None:
        world = self.crosshair_zyx[::-1] * self.spacing_xyz
        world[self.axes.vtk_axis] = self.slice_world()
        world = world + self._plane_offset()
        lo = np.full(3, -0.5) * self.spacing_xyz
        hi = (self.shape_xyz - 0.5) * self.spacing_xyz
        pts = []
        for axis_vec in (self.axes.right, self.axes.up):
            a = int(np.argmax(np.abs(axis_vec)))
            p0, p1 = world.copy(), world.copy()
            p0[a], p1[a] = lo[a], hi[a]
            pts.extend([p0, p1])
        for i, p in enumerate(pts):
            self._crosshair_points.SetPoint(i, *p)
        self._crosshair_points.Modified()
        self.crosshair_actor.SetVisibility(self.crosshair_visible)

    def set_cursor(self, point_zyx) -> None:
        """Cursor position (fractional z/y/x) or None; updates the HU/LPS text and brush."""
        self.cursor_zyx = None if point_zyx is None else np.asarray(point_zyx, dtype=float)
        self._update_cursor_text()
        self._update_brush()

    def set_brush(self, radius_mm: float) -> None:
        """Brush outline radius in mm (0 hides it)."""
        self.brush_radius_mm = float(radius_mm)
        self._update_brush()

    def _update_brush(self) -> None:
        if self.cursor_zyx is None or self.brush_radius_mm <= 0:
            self.brush_actor.VisibilityOff()
            return
        centre = self.cursor_zyx[::-1] * self.spacing_xyz
        centre[self.axes.vtk_axis] = self.slice_world()
        centre = centre + self._plane_offset()
        n = self._brush_points.GetNumberOfPoints()
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ring = centre + self.brush_radius_mm * (
            np.cos(t)[:, None] * self.axes.right + np.sin(t)[:, None] * self.axes.up
        )
        for i, p in enumerate(ring):
            self._brush_points.SetPoint(i, *p)
        self._brush_points.Modified()
        self.brush_actor.VisibilityOn()

    def _update_slice_text(self) -> None:
        self.annotation.SetText(
            _UL, f"{_TITLES[self.orientation]}  {self.slice_index + 1} / {self.n_slices}"
        )

    def _update_cursor_text(self) -> None:
        voxel = None if self.cursor_zyx is None else self.voxel_at(self.cursor_zyx)
        if voxel is None:
            self.annotation.SetText(_LL, "")
            return
        hu = int(self.volume.hu[voxel])
        lps = self.volume.index_to_lps(np.array(voxel, dtype=float))[0]
        self.annotation.SetText(
            _LL,
            f"{hu:+d} HU\n({lps[0]:.1f}, {lps[1]:.1f}, {lps[2]:.1f}) mm LPS\n"
            f"voxel ({voxel[2]}, {voxel[1]}, {voxel[0]})",
        )

    def cursor_hu(self) -> int | None:
        """HU of the voxel under the cursor, or None."""
        voxel = None if self.cursor_zyx is None else self.voxel_at(self.cursor_zyx)
        return None if voxel is None else int(self.volume.hu[voxel])
