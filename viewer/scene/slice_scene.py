"""One axial, coronal or sagittal slice scene (pure VTK, no Qt): the Logic half of a SliceView.

The scene draws, in one ``vtkRenderer``:

* the slice image: CT in a HU window, ground-glass and solid lesion colours and the lung outline,
  composed on the CPU into one RGBA texture (:mod:`viewer.scene.slice_composite`) whose numpy buffer is
  the texture's memory (:mod:`viewer.scene.slice_image`: one textured quad, neighbour slices composed
  ahead in idle time); a label edit recomposes only its bounding box on this slice;
* crosshair lines, the brush outline, and text (:mod:`viewer.scene.annotations`): view name + slice
  number, orientation letters, HU and LPS mm under the cursor, window/level.

Display <-> voxel mapping
-------------------------
The camera is parallel and axis-aligned (see :mod:`viewer.scene.orientation`). A display point
(VTK display pixels, origin bottom-left) goes through ``vtkRenderer.DisplayToWorld`` to a world
point in mm (index-aligned frame of :mod:`viewer.scene.image_data`); its in-plane coordinates divided by
the spacing give fractional voxel indices, and the through-plane index is the current slice.
Voxel ``i`` covers world ``[(i - 0.5) * s, (i + 0.5) * s)``, so rounding picks the voxel under the
pixel. :meth:`SliceScene.index_to_display` is the inverse (used by tests to aim mouse events).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkRenderingCore import vtkRenderer

from viewer.scene.annotations import ViewText, line_actor
from viewer.scene.image_data import Box
from viewer.scene.layers import ViewerLayers
from viewer.scene.measure_overlay import MeasureOverlay
from viewer.scene.orientation import Orientation, screen_letters, view_axes
from viewer.scene.slice_image import SliceImage

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

        # --- the slice image: one RGBA texture composed on the CPU (see viewer.scene.slice_composite
        # for why, viewer.scene.slice_image for how it is cached and drawn). Whoever renders calls
        # compose_pending() first (SliceView.render, the snapshot). Not a renderer StartEvent
        # observer: a Python callback inside VTK's render crashed intermittently (EGL, VTK 9.7).
        self.picture = SliceImage(layers, self.axes, self._level, self._width)
        self._rgb2d = self.picture.rgba  # (rows, cols, 4), the texture's memory
        self.renderer.AddViewProp(self.picture.actor)

        # --- lines: crosshair and brush ----------------------------------------------
        # 2-D overlays over the picture (viewer.scene.annotations.line_actor). Opaque on purpose: any
        # translucent prop sends the frame through VTK's translucent pass (~8 ms in software GL).
        self.crosshair_actor, self._crosshair_points = line_actor(
            4, [(0, 1), (2, 3)], layers.settings.crosshair
        )
        n = 64
        self.brush_actor, self._brush_points = line_actor(
            n, [(i, (i + 1) % n) for i in range(n)], layers.settings.brush
        )
        self.brush_actor.VisibilityOff()
        self._crosshair_xyz = vtk_to_numpy(self._crosshair_points.GetData())  # views (n, 3)
        self._brush_xyz = vtk_to_numpy(self._brush_points.GetData())
        self._line_axes = [int(np.argmax(np.abs(v))) for v in (self.axes.right, self.axes.up)]
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)[:, None]
        self._unit_ring = np.cos(t) * self.axes.right + np.sin(t) * self.axes.up
        self.renderer.AddViewProp(self.crosshair_actor)
        self.renderer.AddViewProp(self.brush_actor)
        self.measure_overlay = MeasureOverlay(self.renderer, self.axes, self.spacing_xyz)

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
        self.picture.show(index)
        self._update_crosshair()
        self._update_brush()
        self._update_slice_text()
        self.measure_overlay.update(self.measure_overlay.measurements, index)
        return True

    def slice_world(self) -> float:
        """World coordinate (mm) of the shown slice along the view's axis."""
        return self.slice_index * float(self.spacing_xyz[self.axes.vtk_axis])

    # ------------------------------------------------------------------ composing
    def invalidate(self, box: Box | None = None) -> None:
        """Mark the whole slice (``box`` None) or the part of it inside voxel ``box`` for
        recomposition; the work happens once, just before the next render."""
        self.picture.invalidate(box)

    def labels_changed(self, box: Box) -> bool:
        """A label edit inside voxel ``box``; True when the shown slice changed (re-render)."""
        return self.picture.labels_changed(box)

    def compose_pending(self) -> None:
        """Recompose what :meth:`invalidate` marked; call before rendering the scene."""
        self.picture.compose_pending()

    def prefetch_next(self) -> bool:
        """Idle work: compose one neighbour slice ahead; False when there is nothing left."""
        return self.picture.prefetch_next()

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
        self.picture.set_window(self._level, self._width)
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
    # Lines are 2-D overlays drawn after the picture (viewer.scene.annotations.line_actor), so they
    # need no depth offset; their vtkPoints are written through numpy views (no per-point calls).
    def set_crosshair(self, point_zyx, visible: bool = True) -> None:
        self.crosshair_zyx = np.asarray(point_zyx, dtype=float).copy()
        self.crosshair_visible = visible
        self._update_crosshair()

    def _update_crosshair(self) -> None:
        world = self.crosshair_zyx[::-1] * self.spacing_xyz
        world[self.axes.vtk_axis] = self.slice_world()
        xyz = self._crosshair_xyz
        xyz[:] = world
        for i, a in enumerate(self._line_axes):  # line i spans world axis a, edge to edge
            xyz[2 * i, a] = -0.5 * self.spacing_xyz[a]
            xyz[2 * i + 1, a] = (self.shape_xyz[a] - 0.5) * self.spacing_xyz[a]
        self._crosshair_points.Modified()
        self.crosshair_actor.SetVisibility(self.crosshair_visible)

    def set_measurements(self, measurements) -> int:
        """The reader's measurements (:class:`quant.measure.Measurement`); those made in this
        orientation on the shown slice are drawn. Returns how many are drawn."""
        return self.measure_overlay.update(measurements, self.slice_index)

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
        self._brush_xyz[:] = centre + self.brush_radius_mm * self._unit_ring
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
