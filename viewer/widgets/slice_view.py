"""SliceView: a Qt widget showing one axial/coronal/sagittal :class:`SliceScene`.

Mouse and keys (all handled here, in Python; VTK interactor styles are not used):

* wheel / PageUp / PageDown / Up / Down: next or previous slice;
* Ctrl+wheel: zoom; Shift+wheel: brush radius (when an editing tool is active);
* right-drag: window (horizontal) and level (vertical); keys 1/2/3: lung, mediastinum, bone;
* middle-drag: pan; R: fit the slice to the view;
* left button: the active tool of :class:`viewer.widgets.tools.EditTools` (paint, erase, ...), or in
  navigate mode it moves the shared crosshair;
* Ctrl+Z / Ctrl+Y (Ctrl+Shift+Z): undo / redo; Escape cancels an open stroke.

Qt widget coordinates (logical pixels, origin top-left) map to VTK display pixels by
``x_d = x * dpr``, ``y_d = (height - 1 - y) * dpr``; display pixels map to voxels through the
renderer (see :mod:`viewer.scene.slice_scene`).

Rendering: the view's own interactions render synchronously at the end of the event (lowest
latency for the view under the mouse). Changes coming from elsewhere (linked views, label edits
seen by other views, undo) call :meth:`SliceView.request_render`, which coalesces into one render
on the next event-loop turn, and only when the change crosses this view's slice. After a frame,
idle event-loop turns compose the neighbour slices ahead (:mod:`viewer.scene.slice_image`), so a scroll
only copies a ready slice. Frame costs with Mesa llvmpipe are measured by
``benchmarks/interaction.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from quant.labels import LabelTarget
from viewer.scene.image_data import Box
from viewer.scene.layers import ViewerLayers
from viewer.scene.orientation import Orientation
from viewer.scene.slice_scene import SliceScene
from viewer.widgets.render_widget import ForwardingInteractor

if TYPE_CHECKING:
    from viewer.widgets.tools import EditTools

__all__ = ["SliceView"]

# Window/level drag sensitivity: HU per pixel is this fraction of the window width at drag start.
_WL_PER_PIXEL = 1.0 / 256.0
_ZOOM_PER_NOTCH = 1.15


class SliceView(QWidget):
    """One slice view of a case.

    Args:
        layers: shared CT + live labels of the case.
        orientation: "axial", "coronal" or "sagittal".
        tools: editing tools shared by the linked views (None: view only).

    Signals:
        sliceChanged(int): the shown slice index changed (by wheel/keys/set_slice).
        crosshairRequested(object): a navigate click/drag asks to move the shared crosshair to
            this fractional (z, y, x) index.
        windowLevelChanged(float, float): new (level, width) in HU; ``wl_alone`` says whether
            the drag that changed it asked to leave the other views alone (Shift held).
        maximiseRequested(): a double-click (or F) asks to show this view alone, or to go back.
        cursorMoved(object): (z, y, x) fractional index under the mouse, or None.
        rendered(): emitted after each render of this view.
    """

    sliceChanged = Signal(int)
    crosshairRequested = Signal(object)
    windowLevelChanged = Signal(float, float)
    maximiseRequested = Signal()
    cursorMoved = Signal(object)
    rendered = Signal()

    def __init__(
        self,
        layers: ViewerLayers,
        orientation: Orientation,
        tools: "EditTools | None" = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.layers = layers
        self.scene = SliceScene(layers, orientation)
        self.vtk_widget = ForwardingInteractor(self, self)
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.render_window.SetMultiSamples(0)  # images need no MSAA; it costs a resolve per frame
        # Colour-only blit of each frame to this (VTK-owned) window: the default also copies depth
        # with a full-screen shader pass nothing reads, ~4 ms CPU per 700x700 frame in llvmpipe.
        self.render_window.SetFrameBlitModeToBlitToCurrent()
        self.render_window.AddRenderer(self.scene.renderer)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vtk_widget)
        self.setMinimumSize(120, 120)
        self._dirty = True
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self.render_if_dirty)
        # Idle work after a frame: compose neighbour slices ahead, one per event-loop turn.
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(0)
        self._prefetch_timer.timeout.connect(self._prefetch)
        self._drag_button = Qt.MouseButton.NoButton
        self._drag_start = QPointF()
        self._drag_last = QPointF()
        self._drag_wl = (0.0, 1.0)
        self.wl_alone = False  # the last window/level drag held Shift: this view only
        self._user_zoomed = False
        self._initialized = False
        self.tools: "EditTools | None" = None
        layers.add_change_callback(self._labels_changed)
        if tools is not None:
            tools.attach(self)

    # ------------------------------------------------------------------ rendering
    @property
    def orientation(self) -> Orientation:
        return self.scene.orientation

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        if not self._initialized:
            self.vtk_widget.Initialize()
            self._initialized = True

    def closeEvent(self, ev) -> None:  # noqa: N802
        # Child widgets get no closeEvent: release the GL context and VTK's own X display
        # connection here, while the display server is still there.
        self.close_vtk()
        super().closeEvent(ev)

    def close_vtk(self) -> None:
        """Finalize the VTK render window (safe to call twice)."""
        self._render_timer.stop()
        self._prefetch_timer.stop()
        self.render_window.Finalize()

    def render(self) -> None:  # type: ignore[override]
        """Render now (synchronously)."""
        self._dirty = False
        self._render_timer.stop()
        if self.isVisible():
            self.scene.compose_pending()
            self.render_window.Render()
            self.rendered.emit()
            self._prefetch_timer.start()

    def _prefetch(self) -> None:
        if self._dirty or not self.isVisible() or self._drag_button != Qt.MouseButton.NoButton:
            return  # a render is due, or a drag (stroke, window, pan) goes on: resumed after
        if self.scene.prefetch_next():
            self._prefetch_timer.start()

    def request_render(self) -> None:
        """Render on the next event-loop turn; many requests make one render."""
        self._dirty = True
        if not self._render_timer.isActive():
            self._render_timer.start()

    def render_if_dirty(self) -> None:
        if self._dirty:
            self.render()

    def _labels_changed(self, target: LabelTarget, box: Box) -> None:
        # Recompose just the changed rectangle, here and on cached neighbour slices; redraw
        # only when the edit crosses the shown slice.
        if self.scene.labels_changed(box):
            self.request_render()

    # ------------------------------------------------------------------ state
    def set_slice(self, index: int, render: bool = False) -> bool:
        """Show slice ``index`` (clamped); emits sliceChanged when it changed."""
        if not self.scene.set_slice(index):
            return False
        self.sliceChanged.emit(self.scene.slice_index)
        self.render() if render else self.request_render()
        return True

    def set_crosshair(self, point_zyx) -> None:
        self.scene.set_crosshair(point_zyx)
        self.request_render()

    def set_window_level(self, level: float, width: float) -> None:
        self.wl_alone = False
        self.scene.set_window_level(level, width)
        self.windowLevelChanged.emit(*self.scene.window_level)
        self.request_render()

    def set_brush_radius(self, radius_mm: float) -> None:
        if self.scene.brush_radius_mm != radius_mm:
            self.scene.set_brush(radius_mm)
            if self.scene.cursor_zyx is not None:
                self.request_render()

    def reset_view(self) -> None:
        """Fit the whole slice into the view."""
        self._user_zoomed = False
        self.scene._setup_camera()
        self._fit()
        self.request_render()

    def view_state(self) -> dict:
        """This view's slice and, when the reader zoomed or panned, its camera (JSON-able)."""
        state: dict = {"slice": int(self.scene.slice_index), "zoomed": self._user_zoomed}
        if self._user_zoomed:
            camera = self.scene.renderer.GetActiveCamera()
            state.update(scale=camera.GetParallelScale(), focal=list(camera.GetFocalPoint()),
                         position=list(camera.GetPosition()))
        return state

    def restore_view_state(self, state: dict) -> None:
        """Back to a :meth:`view_state` (an unknown or broken one is ignored)."""
        try:
            self.scene.set_slice(int(state["slice"]))
            if state.get("zoomed"):
                camera = self.scene.renderer.GetActiveCamera()
                camera.SetParallelScale(float(state["scale"]))
                camera.SetFocalPoint(*map(float, state["focal"]))
                camera.SetPosition(*map(float, state["position"]))
                self._user_zoomed = True
        except (KeyError, TypeError, ValueError):
            return
        self.request_render()

    def _fit(self) -> None:
        w, h = self.render_window.GetSize()
        self.scene.fit(w / max(h, 1))

    def before_paint(self) -> None:
        self.scene.compose_pending()

    def handle_resize(self) -> None:
        if not self._user_zoomed:
            self._fit()

    # ------------------------------------------------------------------ coordinates
    def display_point(self, pos: QPointF) -> tuple[float, float]:
        """VTK display pixel (origin bottom-left) of a widget position (origin top-left)."""
        dpr = self.vtk_widget.devicePixelRatioF()
        return pos.x() * dpr, (self.vtk_widget.height() - 1 - pos.y()) * dpr

    def widget_point(self, point_zyx) -> QPointF:
        """Widget position (logical pixels) of the centre of voxel ``point_zyx`` (for tests)."""
        x, y = self.scene.index_to_display(point_zyx)
        dpr = self.vtk_widget.devicePixelRatioF()
        return QPointF(x / dpr, self.vtk_widget.height() - 1 - y / dpr)

    def index_at(self, pos: QPointF) -> np.ndarray:
        """Fractional (z, y, x) voxel index under a widget position, on the shown slice."""
        return self.scene.display_to_index(*self.display_point(pos))

    # ------------------------------------------------------------------ input
    def _tool_active(self) -> bool:
        return self.tools is not None and self.tools.mode != "navigate"

    def handle_mouse_press(self, ev: QMouseEvent) -> None:
        pos = ev.position()
        self._drag_button = ev.button()
        self._drag_start = self._drag_last = pos
        self.vtk_widget.setFocus()
        if ev.button() == Qt.MouseButton.LeftButton:
            idx = self.index_at(pos)
            if self._tool_active():
                shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.tools.press(self, idx, only_selected=shift)  # type: ignore[union-attr]
                self.scene.set_cursor(idx)
                self.render()
            else:
                self.crosshairRequested.emit(idx)
        elif ev.button() == Qt.MouseButton.RightButton:
            self._drag_wl = self.scene.window_level
            self.wl_alone = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)

    def handle_mouse_move(self, ev: QMouseEvent) -> None:
        pos = ev.position()
        idx = self.index_at(pos)
        buttons = ev.buttons()
        self.scene.set_cursor(idx)
        self.cursorMoved.emit(idx)
        if buttons & Qt.MouseButton.LeftButton:
            if self._tool_active():
                self.tools.move(self, idx)  # type: ignore[union-attr]
            elif self._drag_button == Qt.MouseButton.LeftButton:
                self.crosshairRequested.emit(idx)
        elif buttons & Qt.MouseButton.RightButton:
            level0, width0 = self._drag_wl
            step = max(width0, 50.0) * _WL_PER_PIXEL * 4.0
            dx = pos.x() - self._drag_start.x()
            dy = pos.y() - self._drag_start.y()
            # Drag right widens the window; drag down raises the level (image darker), as in
            # most PACS viewers.
            self.scene.set_window_level(level0 + dy * step, max(1.0, width0 + dx * step))
            self.windowLevelChanged.emit(*self.scene.window_level)
        elif buttons & Qt.MouseButton.MiddleButton:
            dpr = self.vtk_widget.devicePixelRatioF()
            dx = (pos.x() - self._drag_last.x()) * dpr
            dy = -(pos.y() - self._drag_last.y()) * dpr
            self.scene.pan(dx, dy)
            self._user_zoomed = True
        self._drag_last = pos
        self.render()

    def handle_double_click(self, ev: QMouseEvent) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and not self._tool_active():
            self.maximiseRequested.emit()

    def handle_mouse_release(self, ev: QMouseEvent) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and self._tool_active():
            self.tools.release(self)  # type: ignore[union-attr]
            self.render_if_dirty()
        self._drag_button = Qt.MouseButton.NoButton
        self._prefetch_timer.start()

    def handle_wheel(self, ev: QWheelEvent) -> None:
        delta = ev.angleDelta()
        # Qt turns Shift+wheel into a horizontal wheel on some platforms: take whichever is set.
        raw = delta.y() if delta.y() != 0 else delta.x()
        notches = raw / 120.0
        if notches == 0:
            return
        mods = ev.modifiers()
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.scene.zoom(_ZOOM_PER_NOTCH ** notches)
            self._user_zoomed = True
            self.render()
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            if self.tools is not None:
                self.tools.step_brush_radius(1 if notches > 0 else -1)
                self.render_if_dirty()
        else:
            step = int(np.sign(notches)) * max(1, int(abs(round(notches))))
            self.step_slice(step)

    def step_slice(self, step: int) -> None:
        """Move ``step`` slices and render this view at once."""
        if self.scene.set_slice(self.scene.slice_index + step):
            if self.scene.cursor_zyx is not None:
                cursor = self.scene.cursor_zyx.copy()
                cursor[self.scene.axes.slice_axis] = self.scene.slice_index
                self.scene.set_cursor(cursor)
            self.sliceChanged.emit(self.scene.slice_index)
            self.render()

    def handle_key_press(self, ev: QKeyEvent) -> None:
        key = ev.key()
        mods = ev.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if key in (Qt.Key.Key_PageUp, Qt.Key.Key_Up):
            self.step_slice(1)
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_Down):
            self.step_slice(-1)
        elif ctrl and key == Qt.Key.Key_Z and self.tools is not None:
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.tools.redo()
            else:
                self.tools.undo()
            self.render_if_dirty()
        elif ctrl and key == Qt.Key.Key_Y and self.tools is not None:
            self.tools.redo()
            self.render_if_dirty()
        elif key == Qt.Key.Key_Escape and self.tools is not None:
            self.tools.cancel()
            self.render_if_dirty()
        elif key == Qt.Key.Key_R and not ctrl:
            self.reset_view()
        elif key == Qt.Key.Key_F and not ctrl:
            self.maximiseRequested.emit()
        else:
            preset = self.layers.settings.preset_for_key(ev.text())
            if preset is not None:
                self.set_window_level(preset.level, preset.width)
                self.render()

    def handle_leave(self) -> None:
        if self.scene.cursor_zyx is not None:
            self.scene.set_cursor(None)
            self.cursorMoved.emit(None)
            self.request_render()
