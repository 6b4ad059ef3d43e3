"""Wiring of one case's viewer objects: layers, editor, metrics tracker, tools, MPR + 3D views.

The scenes and interaction live in ``viewer``; the computations in ``quant``. This module only
creates them for a case (``viewer.widgets.mpr.MprViewer`` lays out axial, 3D, coronal, sagittal) and
tears them down cleanly (VTK render windows are finalised before the widgets go).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from quant.editing.editor import MaskEditor
    from quant.labels import LesionMasks, LungMasks
    from quant.metrics import MetricsTracker
    from quant.volume import Volume
    from viewer.scene.layers import ViewerLayers
    from viewer.scene.orientation import Orientation
    from viewer.widgets.mpr import MprViewer
    from viewer.widgets.slice_view import SliceView
    from viewer.widgets.tools import EditTools
    from viewer.widgets.view3d import VolumeView3D

__all__ = ["CaseViews", "build_case_views"]


@dataclass
class CaseViews:
    """Live objects of one open case. ``editor`` is None for read-only display."""

    volume: Volume
    lungs: LungMasks
    lesions: LesionMasks
    layers: ViewerLayers
    tracker: MetricsTracker
    editor: MaskEditor | None
    tools: EditTools | None
    views: dict[Orientation, SliceView]
    view3d: VolumeView3D | None
    widget: MprViewer
    _extra: list[object] = field(default_factory=list)
    container: QWidget | None = None  # what the workspace shows: the viewer, or a splitter with it

    def __post_init__(self) -> None:
        if self.container is None:
            self.container = self.widget

    def add_beside(self, widget: QWidget) -> None:
        """Put ``widget`` to the left of the viewer, in a splitter (sequential reading's baseline)."""
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QSplitter

        splitter = QSplitter(Qt.Orientation.Horizontal, self.widget.parentWidget())
        splitter.setObjectName("referenceSplitter")
        splitter.addWidget(widget)
        splitter.addWidget(self.widget)
        splitter.setSizes([1, 2])
        self.container = splitter

    def set_window_level(self, level: float, width: float) -> None:
        for view in self.views.values():
            view.set_window_level(level, width)

    def apply_preset(self, name: str) -> None:
        """Apply a window/level preset of ``resources/display.toml`` ("lung", "mediastinum", "bone")."""
        from viewer.scene.display import display_settings  # lazy: VTK only with a case on screen

        preset = display_settings().presets[name]
        self.set_window_level(preset.level, preset.width)

    def render_all(self) -> None:
        for view in self.views.values():
            view.request_render()

    def close(self) -> None:
        """Finalise VTK windows and schedule the widgets for deletion."""
        self.widget.close_vtk()
        container = self.container if self.container is not None else self.widget
        container.hide()
        container.deleteLater()  # stays a hidden child until then: never a stray top-level
        self.views = {}
        self.view3d = None


def _want_3d(with_3d: bool | None) -> bool:
    if with_3d is not None:
        return with_3d
    if os.environ.get("LUNGREAD_NO_3D", ""):
        return False
    return importlib.util.find_spec("viewer.widgets.view3d") is not None


def build_case_views(volume: Volume, lungs: LungMasks, lesions: LesionMasks, *, editable: bool = True,
                     with_3d: bool | None = None, parent: QWidget | None = None) -> CaseViews:
    """Create layers, MaskEditor, MetricsTracker, EditTools and the linked MPR (+3D) viewer.

    ``with_3d`` None: include the 3D view when ``viewer.widgets.view3d`` exists and ``LUNGREAD_NO_3D`` is
    not set (tests that only need the slice views set it, to keep software-GL runs fast).
    """
    # Lazy: VTK and scipy load only when the first case is shown.
    from quant.editing.editor import MaskEditor
    from quant.metrics import MetricsTracker
    from viewer.scene.layers import ViewerLayers
    from viewer.widgets.mpr import MprViewer
    from viewer.widgets.tools import EditTools

    layers = ViewerLayers(volume, lungs, lesions)
    tracker = MetricsTracker(volume, lungs, lesions)
    editor = MaskEditor(volume, lungs, lesions) if editable else None
    tools = EditTools(editor, layers, tracker) if editor is not None else None
    mpr = MprViewer(layers, tools, with_3d=_want_3d(with_3d), parent=parent)
    mpr.setObjectName("caseViews")
    views = dict(mpr.views)
    for name, view in views.items():
        view.setObjectName(f"view_{name}")
    return CaseViews(volume, lungs, lesions, layers, tracker, editor, tools, views, mpr.view3d, mpr)
