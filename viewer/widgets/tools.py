"""Editing tools as interaction modes of the slice views (the thin Widget half over MaskEditor).

:class:`EditTools` turns left-button input of any attached :class:`~viewer.widgets.slice_view.SliceView`
into :class:`quant.editing.editor.MaskEditor` calls:

===========  ==========================================================================
mode         left button
===========  ==========================================================================
navigate     move the shared crosshair (handled by the view)
paint        drag paints the editor's label (GGO/solid) with the brush (one undo step)
erase        drag erases every lesion label under the brush (Shift held at the press: only the
             editor's current label)
lung_paint   drag adds voxels to the lung mask
lung_erase   drag removes voxels from the lung mask (and lesions there)
grow         click: add the connected region within ``grow_hu_range`` around the voxel, as a
             preview: :meth:`EditTools.discard_grow` takes it back, anything else keeps it
island       click: remove the lesion component under the voxel
ruler        drag: a distance in mm on the slice (:func:`quant.measure.ruler`)
roi          drag from the centre: a circle's HU statistics (:func:`quant.measure.circle_roi`)
===========  ==========================================================================

Measurements are kept in :attr:`EditTools.measurements` (drawn by every view of their
orientation on their slice) and reported through ``measurementsChanged``.

The editor's listener feeds :meth:`viewer.scene.layers.ViewerLayers.apply_change`, which marks the
zero-copy label image modified and asks only the views whose slice crosses the change to
re-render. A stroke happens in one view: that view renders synchronously after each mouse event,
the other views on the next event-loop turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal

from quant.editing.editor import HistoryStep, MaskEditor
from quant.measure import Measurement
from viewer.scene.layers import ViewerLayers
from viewer.scene.slice_scene import SliceScene

if TYPE_CHECKING:
    from quant.metrics import MetricsTracker

__all__ = ["EditTools", "ToolView", "ToolMode", "MODES", "BRUSH_MODES", "MEASURE_MODES"]


class ToolView(Protocol):
    """A view the tools drive (:class:`viewer.widgets.slice_view.SliceView` is one)."""

    scene: SliceScene
    tools: EditTools | None

    def request_render(self) -> None: ...
    def set_brush_radius(self, radius_mm: float) -> None: ...

ToolMode = Literal["navigate", "paint", "erase", "grow", "island", "lung_paint", "lung_erase", "ruler", "roi"]
MODES: tuple[ToolMode, ...] = ("navigate", "paint", "erase", "grow", "island", "lung_paint", "lung_erase",
                               "ruler", "roi")
MEASURE_MODES = ("ruler", "roi")
BRUSH_MODES = ("paint", "erase", "lung_paint", "lung_erase")

_MIN_RADIUS_MM = 0.5
_MAX_RADIUS_MM = 50.0


class EditTools(QObject):
    """Interaction modes shared by linked slice views.

    Args:
        editor: the headless editor over the live label maps shown by ``layers``.
        layers: the views' shared layers (receives every change).
        tracker: optional incremental metrics; updated on every change, reported through
            ``metricsChanged`` after each step.

    Signals:
        modeChanged(str), brushRadiusChanged(float) (mm),
        stepRecorded(object): a :class:`quant.editing.editor.HistoryStep` after a stroke/click/undo/redo,
        metricsChanged(object): ``tracker.metrics`` after each step (only with a tracker).
        growPreview(object): the grow step now shown as a preview (None: kept or discarded).
    """

    modeChanged = Signal(str)
    brushRadiusChanged = Signal(float)
    stepRecorded = Signal(object)
    growPreview = Signal(object)
    measurementsChanged = Signal(object)
    metricsChanged = Signal(object)

    def __init__(
        self,
        editor: MaskEditor,
        layers: ViewerLayers,
        tracker: "MetricsTracker | None" = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if editor.lesions.labels is not layers.lesions.labels or editor.lungs.labels is not layers.lungs.labels:
            raise ValueError("the editor and the layers must share the same live label arrays")
        self.editor = editor
        self.layers = layers
        self.tracker = tracker
        if tracker is not None:
            editor.add_listener(tracker.apply)  # metrics first: views may show them
        editor.add_listener(layers.apply_change)
        self._mode: ToolMode = "navigate"
        self._views: list[ToolView] = []
        self._stroke_view: ToolView | None = None
        #: HU range (inclusive) and maximum radius (mm) of the grow tool.
        self.grow_hu_range: tuple[float, float] = (-750.0, 50.0)
        self.grow_max_radius_mm: float = 40.0
        self.pending_grow: HistoryStep | None = None  # the newest grow, still a preview
        self.measurements: list[Measurement] = []
        self._measuring: tuple[ToolView, np.ndarray] | None = None  # (view, start point) of a drag

    # ------------------------------------------------------------------ wiring
    def attach(self, view: ToolView) -> None:
        """Let ``view`` route its left-button and Shift+wheel input here."""
        view.tools = self
        self._views.append(view)
        self._sync_brush(view)

    @property
    def mode(self) -> ToolMode:
        return self._mode

    def set_mode(self, mode: ToolMode) -> None:
        if mode not in MODES:
            raise ValueError(f"tool mode must be one of {MODES}, got {mode!r}")
        self.cancel()
        self.keep_grow()
        if self._measuring is not None:
            self._measuring = None
            self._show_measurements()
        self._mode = mode
        for view in self._views:
            self._sync_brush(view)
            view.request_render()
        self.modeChanged.emit(mode)

    def _sync_brush(self, view: ToolView) -> None:
        view.set_brush_radius(self.editor.radius_mm if self._mode in BRUSH_MODES else 0.0)

    # ------------------------------------------------------------------ brush size
    def set_brush_radius(self, radius_mm: float) -> None:
        """Brush radius in mm (clamped to 0.5..50)."""
        self.editor.radius_mm = float(np.clip(radius_mm, _MIN_RADIUS_MM, _MAX_RADIUS_MM))
        for view in self._views:
            self._sync_brush(view)
        self.brushRadiusChanged.emit(self.editor.radius_mm)

    def step_brush_radius(self, steps: int) -> None:
        """Grow (+) or shrink (-) the brush by ``steps`` increments of 0.5 mm or 10 %."""
        r = self.editor.radius_mm
        inc = max(0.5, 0.1 * r)
        self.set_brush_radius(r + steps * inc)

    # ------------------------------------------------------------------ mouse
    def press(self, view: ToolView, point_zyx: np.ndarray, *, only_selected: bool = False) -> None:
        """Left press at fractional (z, y, x) ``point_zyx`` in ``view``; ``only_selected`` (Shift
        held): the eraser clears only the editor's current label."""
        self.keep_grow()
        if self._mode == "erase":
            self.editor.erase_any_lesion = not only_selected
        if self._mode in MEASURE_MODES:
            self._measuring = (view, np.asarray(point_zyx, dtype=float).copy())
            self._show_measurements(self._measure_to(point_zyx))
            return
        if self._mode in BRUSH_MODES:
            self.editor.begin_stroke(self._mode, point_zyx, axis=view.scene.axes.slice_axis)  # type: ignore[arg-type]
            self._stroke_view = view
        elif self._mode == "grow":
            seed = view.scene.voxel_at(point_zyx)
            if seed is not None:
                step = self.editor.grow(seed, self.grow_hu_range, self.grow_max_radius_mm)
                self._recorded(step)
                if step is not None:
                    self.pending_grow = step
                    self.growPreview.emit(step)
        elif self._mode == "island":
            seed = view.scene.voxel_at(point_zyx)
            if seed is not None:
                self._recorded(self.editor.remove_island(seed))

    def move(self, view: ToolView, point_zyx: np.ndarray) -> None:
        """Left-drag to ``point_zyx``; extends the open stroke (interpolated: no gaps)."""
        if self._measuring is not None and self._measuring[0] is view:
            self._show_measurements(self._measure_to(point_zyx))
            return
        if self._stroke_view is view and self.editor.stroke_in_progress:
            self.editor.continue_stroke(point_zyx)

    def release(self, view: ToolView) -> None:
        if self._measuring is not None and self._measuring[0] is view:
            done = self._measure_to(self._last_point)
            self._measuring = None
            if done.kind == "roi" and not done.n_voxels or done.kind == "ruler" and not done.length_mm:
                self._show_measurements()  # a click without a drag measures nothing
                return
            self.set_measurements([*self.measurements, done])
            return
        if self._stroke_view is view:
            self._stroke_view = None
            self._recorded(self.editor.end_stroke())

    def cancel(self) -> None:
        """Revert an open stroke without recording it."""
        if self._stroke_view is not None:
            self._stroke_view = None
            self.editor.cancel_stroke()

    # ------------------------------------------------------------------ measurements
    def _measure_to(self, point_zyx) -> Measurement:
        """The measurement the open drag would make if released at ``point_zyx``."""
        from quant.measure import circle_roi, ruler

        assert self._measuring is not None
        view, start = self._measuring
        axis = view.scene.axes.slice_axis
        end = np.asarray(point_zyx, dtype=float).copy()
        end[axis] = start[axis]  # in the slice the drag began in
        self._last_point = end
        spacing = self.editor.volume.spacing
        if self._mode == "ruler":
            return ruler(start, end, spacing, axis)
        return circle_roi(self.editor.volume.hu, start, end, axis, spacing)

    def _show_measurements(self, live: Measurement | None = None) -> None:
        shown = self.measurements + ([live] if live is not None else [])
        for view in self._views:
            view.scene.set_measurements(shown)
            view.request_render()

    def set_measurements(self, measurements: list[Measurement]) -> None:
        """Replace the measurement list (e.g. a draft's, or after a deletion) and show it."""
        self.measurements = list(measurements)
        self._show_measurements()
        self.measurementsChanged.emit(list(self.measurements))

    def keep_grow(self) -> None:
        """Keep the previewed grow (it already is in the masks and the undo history)."""
        if self.pending_grow is not None:
            self.pending_grow = None
            self.growPreview.emit(None)

    def discard_grow(self) -> bool:
        """Take the previewed grow back; True when there was one."""
        step, self.pending_grow = self.pending_grow, None
        if step is None:
            return False
        self.growPreview.emit(None)
        self._recorded(self.editor.undo())
        return True

    def fill_between_slices(self, axis: int = 0) -> HistoryStep | None:
        """Interpolate the current label across the empty slices between drawn ones (along
        ``axis``, 0 = axial) as one undo step."""
        self.cancel()
        self.keep_grow()
        step = self.editor.fill_between_slices(axis)
        self._recorded(step)
        return step

    # ------------------------------------------------------------------ history
    def undo(self) -> HistoryStep | None:
        self.cancel()
        self.keep_grow()
        step = self.editor.undo()
        self._recorded(step)
        return step

    def redo(self) -> HistoryStep | None:
        self.cancel()
        self.keep_grow()
        step = self.editor.redo()
        self._recorded(step)
        return step

    def _recorded(self, step: HistoryStep | None) -> None:
        if step is None:
            return
        self.stepRecorded.emit(step)
        if self.tracker is not None:
            self.metricsChanged.emit(self.tracker.metrics)
