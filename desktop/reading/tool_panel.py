"""The side panel's tool half: the tool palette, the tool options and the display controls, bound
to whatever case views are open.

It keeps the workspace to the case's life cycle: this module decides what each control does to
the open case's :class:`viewer.widgets.tools.EditTools`, ``MaskEditor`` and layers, gives every
newly opened case the reader's default tool settings (brush size, 3-D brush, label, HU limit and
grow settings start afresh; the display look carries over), and shows the grow preview.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.reading.display_panel import OPACITY_STEP, DisplayPanel
from desktop.reading.tool_options import ToolOptions
from desktop.reading.tool_palette import ToolPalette

if TYPE_CHECKING:
    from desktop.reading.case_views import CaseViews
    from quant.editing.history import HistoryStep

__all__ = ["ToolPanel"]

_DEFAULT_RADIUS_MM = 5.0


class ToolPanel(QWidget):
    """Palette + options + display over ``current()`` (the open case's views, or None)."""

    def __init__(self, current: Callable[[], CaseViews | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current = current
        self.palette = ToolPalette()
        self.palette.bind(current)
        self.options = ToolOptions()
        self.display = DisplayPanel()
        self.display.bind(lambda: v.layers if (v := current()) is not None else None,
                          lambda: v.render_all() if (v := current()) is not None else None)
        self.options.brush_range_changed.connect(self._set_brush_range)
        self.options.grow_changed.connect(lambda _settings: self._set_grow())
        self.options.keep_grow.connect(lambda: self._with_tools(lambda t: t.keep_grow()))
        self.options.discard_grow.connect(self.discard_grow)
        self.options.fill_requested.connect(lambda: self._with_tools(lambda t: t.fill_between_slices(0)))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.palette, self.options, self.display):
            layout.addWidget(w)

    # --- applying to the open case ----------------------------------------------------------
    def _with_tools(self, action: Callable) -> None:
        views = self._current()
        if views is not None and views.tools is not None:
            action(views.tools)
            views.render_all()

    def _set_brush_range(self, hu_range: tuple[float, float] | None) -> None:
        views = self._current()
        if views is not None and views.editor is not None:
            views.editor.hu_range = None if hu_range is None else (min(hu_range), max(hu_range))

    def _set_grow(self) -> None:
        views = self._current()
        if views is not None and views.tools is not None:
            (low, high), reach = self.options.grow_settings()
            views.tools.grow_hu_range = (min(low, high), max(low, high))
            views.tools.grow_max_radius_mm = reach

    def reset_for_new_case(self) -> None:
        """The reader's defaults, so nothing of the previous case's tool state carries over."""
        self.palette.select_tool("navigate")
        self.palette.radius.setValue(_DEFAULT_RADIUS_MM)
        self.palette.sphere.setChecked(False)
        self.palette.ggo.setChecked(True)
        self.options.limit.setCurrentIndex(0)
        self.options.show_preview(None)

    def apply_to(self, views: CaseViews) -> None:
        """Give a newly opened case's views the panel's settings, and follow them: grow previews,
        the brush size set in a view (Shift+wheel), the undo/redo history."""
        self.display.apply_to(views.layers)
        for view in views.views.values():
            self.display.watch(view.vtk_widget)
        self.show_history()
        if views.tools is None:
            return
        self.palette.apply_to(views)
        views.tools.brushRadiusChanged.connect(self._radius_from_view)
        views.tools.stepRecorded.connect(lambda _step: self.show_history())
        self._set_brush_range(self.options.brush_range())
        self._set_grow()
        voxel_ml = views.volume.voxel_volume_ml
        views.tools.growPreview.connect(lambda step: self.options.show_preview(_added_ml(step, voxel_ml)))

    def _radius_from_view(self, radius: float) -> None:
        radius_box = self.palette.radius
        if abs(radius_box.value() - radius) > 1e-6:
            radius_box.blockSignals(True)
            radius_box.setValue(radius)
            radius_box.blockSignals(False)

    def show_history(self) -> None:
        """What Undo/Redo would do in the open case (nothing without an editable case)."""
        views = self._current()
        editor = views.editor if views is not None else None
        if editor is None:
            self.palette.set_history(None, None)
        else:
            self.palette.set_history(editor.undo_label if editor.can_undo else None,
                                     editor.redo_label if editor.can_redo else None)

    def discard_grow(self) -> bool:
        """Take back a previewed grow; True when there was one (Esc does this first)."""
        views = self._current()
        if views is None or views.tools is None or views.tools.pending_grow is None:
            return False
        views.tools.discard_grow()
        views.render_all()
        return True

    def setEditable(self, editable: bool) -> None:  # noqa: N802 - Qt naming
        self.palette.setEditable(editable)
        self.options.setEnabled(editable)

    # --- keys -------------------------------------------------------------------------------
    def handlers(self, read_only: Callable[[], bool]) -> dict[str, Callable[[], object]]:
        """Shortcut actions of :mod:`desktop.reading.shortcuts` served by this panel."""

        def tool(name: str) -> Callable[[], None]:
            return lambda: None if read_only() else self.palette.select_tool(name)

        def escape() -> None:  # a previewed grow first, else back to navigating
            if not self.discard_grow():
                self.palette.select_tool("navigate")

        out: dict[str, Callable[[], object]] = {f"tool:{t}": tool(t) for t in ("paint", "erase", "grow", "island", "ruler", "roi")}
        out.update({
            "tool:navigate": escape,
            "display:lesions": self.display.toggle_lesions, "display:outline": self.display.toggle_outline,
            "display:lung": self.display.toggle_lung,
            "display:fainter": lambda: self.display.step_opacity(-OPACITY_STEP),
            "display:stronger": lambda: self.display.step_opacity(OPACITY_STEP),
        })
        return out


def _added_ml(step: HistoryStep | None, voxel_ml: float) -> float | None:
    if step is None:
        return None
    return sum(int(change.indices.size) for change in step.changes) * voxel_ml
