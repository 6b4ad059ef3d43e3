"""Three linked slice views (axial, coronal, sagittal) sharing one crosshair, plus a 3D view.

The shared state is one crosshair position, a fractional (z, y, x) voxel index:

* a navigate click/drag in any view moves the crosshair there; every view then shows the slice
  through it and draws the crosshair lines at it;
* scrolling a view moves the crosshair along that view's axis; the other views keep their slice
  and only move their crosshair line;
* a window/level drag applies to every slice view (Shift held: to that view only).

Layouts (:data:`LAYOUTS`): ``2x2`` (default), ``1x3`` (the three slice views in a row, no 3D) and
``1x1`` (one view alone; double-click or F in a view toggles it).

Each view renders itself synchronously for its own input; views changed by another view's input
render on the next event-loop turn (coalesced), and a view whose picture did not change does not
render at all.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QWidget

from viewer.scene.layers import ViewerLayers
from viewer.scene.orientation import ORIENTATIONS, Orientation
from viewer.widgets.slice_view import SliceView
from viewer.widgets.tools import EditTools

__all__ = ["MprViewer", "LAYOUTS"]

LAYOUTS = ("2x2", "1x3", "1x1")


class MprViewer(QWidget):
    """Axial (top-left), 3D (top-right, optional), coronal (bottom-left), sagittal (bottom-right).

    Args:
        layers: the case's CT and live labels.
        tools: editing tools shared by the three views (None: view only).
        with_3d: add a :class:`viewer.widgets.view3d.VolumeView3D` in the top-right cell.
        volume_rendering: the 3D view also volume-renders the CT (else surfaces only).

    Signals:
        positionChanged(object): the crosshair moved; fractional (z, y, x) voxel index.
    """

    positionChanged = Signal(object)
    layoutChanged = Signal(str)

    def __init__(
        self,
        layers: ViewerLayers,
        tools: EditTools | None = None,
        with_3d: bool = False,
        parent: QWidget | None = None,
        volume_rendering: bool = True,
    ) -> None:
        super().__init__(parent)
        self.layers = layers
        self.tools = tools
        self.views: dict[Orientation, SliceView] = {
            o: SliceView(layers, o, tools, parent=self) for o in ORIENTATIONS
        }
        self.view3d = None
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        if with_3d:
            from viewer.widgets.view3d import VolumeView3D

            self.view3d = VolumeView3D(layers, volume_rendering=volume_rendering, parent=self)
        self.layout_name = "2x2"
        self.solo: QWidget = self.views["axial"]  # the view shown alone in 1x1
        self._before_solo = "2x2"
        self.set_layout("2x2")
        self.position_zyx = (np.array(layers.volume.shape, dtype=float) - 1) / 2.0
        self.position_zyx = np.rint(self.position_zyx)
        for view in self.views.values():
            view.crosshairRequested.connect(self.set_position)
            view.sliceChanged.connect(lambda index, v=view: self._slice_scrolled(v, index))
            view.windowLevelChanged.connect(lambda level, width, v=view: self._window_changed(v, level, width))
            view.maximiseRequested.connect(lambda v=view: self.toggle_maximise(v))
            view.scene.set_crosshair(self.position_zyx)
            view.scene.set_slice(int(self.position_zyx[view.scene.axes.slice_axis]))
        self.setStyleSheet("background-color: #202020;")

    # ------------------------------------------------------------------ layout
    def _cells(self, name: str) -> list[tuple[QWidget, int, int]]:
        axial, coronal, sagittal = self.views["axial"], self.views["coronal"], self.views["sagittal"]
        if name == "1x1":
            return [(self.solo, 0, 0)]
        if name == "1x3":
            return [(axial, 0, 0), (coronal, 0, 1), (sagittal, 0, 2)]
        cells: list[tuple[QWidget, int, int]] = [(axial, 0, 0), (coronal, 1, 0), (sagittal, 1, 1)]
        if self.view3d is not None:
            cells.append((self.view3d, 0, 1))
        return cells

    def set_layout(self, name: str) -> None:
        """Arrange the views as ``name`` (one of :data:`LAYOUTS`); hidden views keep their state."""
        if name not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {name!r}")
        everything = [*self.views.values(), *([self.view3d] if self.view3d is not None else [])]
        for widget in everything:
            self._grid.removeWidget(widget)
        shown = self._cells(name)
        for widget, row, col in shown:
            self._grid.addWidget(widget, row, col)
        for widget in everything:
            widget.setVisible(any(widget is w for w, _, _ in shown))
        columns, rows = {"2x2": (2, 2), "1x3": (3, 1), "1x1": (1, 1)}[name]
        for i in range(3):  # an empty cell with a stretch would still take its share of space
            self._grid.setColumnStretch(i, 1 if i < columns else 0)
            self._grid.setRowStretch(i, 1 if i < rows else 0)
        self.layout_name = name
        self.layoutChanged.emit(name)

    def toggle_maximise(self, view: QWidget) -> None:
        """Show ``view`` alone, or go back to the layout before (double-click, F)."""
        if self.layout_name == "1x1" and self.solo is view:
            self.set_layout(self._before_solo)
            return
        if self.layout_name != "1x1":
            self._before_solo = self.layout_name
        self.solo = view
        self.set_layout("1x1")

    def view_state(self) -> dict:
        """Crosshair, each slice view's slice and camera, and the layout (JSON-able), to come back to."""
        return {"position": [float(v) for v in self.position_zyx], "layout": self.layout_name,
                "views": {name: view.view_state() for name, view in self.views.items()}}

    def restore_view_state(self, state: dict) -> None:
        """Back to a :meth:`view_state` (parts that do not fit this case are ignored)."""
        position = state.get("position")
        if isinstance(position, list) and len(position) == 3:
            self.set_position(position)
        for name, view_state in (state.get("views") or {}).items():
            if name in self.views and isinstance(view_state, dict):
                self.views[name].restore_view_state(view_state)

    def _window_changed(self, source: SliceView, level: float, width: float) -> None:
        if source.wl_alone:
            return
        for view in self.views.values():
            if view is not source and view.scene.window_level != (level, width):
                view.scene.set_window_level(level, width)
                view.request_render()

    def close_vtk(self) -> None:
        for view in self.views.values():
            view.close_vtk()
        if self.view3d is not None:
            self.view3d.close_vtk()

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.close_vtk()
        super().closeEvent(ev)

    def set_position(self, point_zyx) -> None:
        """Move the shared crosshair to fractional (z, y, x) ``point_zyx`` (clamped)."""
        hi = np.array(self.layers.volume.shape, dtype=float) - 1
        p = np.clip(np.asarray(point_zyx, dtype=float), 0, hi)
        self.position_zyx = p
        for view in self.views.values():
            view.scene.set_crosshair(p)
            axis = view.scene.axes.slice_axis
            # Through the scene, not SliceView.set_slice: no sliceChanged echo back to us.
            view.scene.set_slice(int(round(p[axis])))
            view.request_render()
        self.positionChanged.emit(p.copy())

    def _slice_scrolled(self, source: SliceView, index: int) -> None:
        axis = source.scene.axes.slice_axis
        if self.position_zyx[axis] == index:
            return
        self.position_zyx = self.position_zyx.copy()
        self.position_zyx[axis] = index
        for view in self.views.values():
            view.scene.set_crosshair(self.position_zyx)
            if view is not source:
                view.request_render()
        self.positionChanged.emit(self.position_zyx.copy())

    def render_all(self) -> None:
        for view in self.views.values():
            view.render()
        if self.view3d is not None:
            self.view3d.render()
