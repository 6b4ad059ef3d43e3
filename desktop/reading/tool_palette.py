"""The editing tool palette (side panel) and the window/level preset bar.

Pure widgets: they emit the reader's choices; the workspace forwards them to the viewer's editing
tools and to ``quant.editing.editor.MaskEditor`` settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from quant.labels import GGO, SOLID

if TYPE_CHECKING:
    from desktop.reading.case_views import CaseViews
    from quant.editing.editor import MaskEditor
    from viewer.widgets.tools import EditTools

__all__ = ["ToolPalette", "WindowLevelBar", "TOOLS", "WL_PRESETS"]

# (tool id, button text, shortcut, tooltip)
TOOLS: tuple[tuple[str, str, str, str], ...] = (
    ("navigate", "Navigate", "Esc", "Scroll, pan and window without editing (Esc)"),
    ("paint", "Brush", "B", "Paint the selected lesion label (B)"),
    ("erase", "Erase", "E", "Erase every lesion label under the brush (E); Shift+drag: only the selected label"),
    ("grow", "Grow", "G", "Grow a lesion from a click within the label's HU band (G)"),
    ("island", "Island", "I", "Remove the clicked lesion island (I)"),
    ("lung_paint", "Lung +", "", "Add to the lung mask, e.g. a missed subpleural consolidation"),
    ("lung_erase", "Lung −", "", "Remove from the lung mask"),
    ("ruler", "Ruler", "M", "Measure a distance in mm: drag on a slice (M)"),
    ("roi", "ROI", "C", "HU statistics of a circle: drag from its centre (C)"),
)

# (preset name in resources/display.toml, button text, key)
WL_PRESETS: tuple[tuple[str, str, str], ...] = (
    ("lung", "Lung", "1"),
    ("mediastinum", "Mediastinum", "2"),
    ("bone", "Bone", "3"),
)


class ToolPalette(QGroupBox):
    """Tool buttons, brush size (mm), lesion label, undo/redo."""

    tool_changed = Signal(str)
    radius_changed = Signal(float)
    label_changed = Signal(int)  # quant.labels.GGO / SOLID
    shape_changed = Signal(str)  # "disk" (2D, in the view's plane) or "sphere" (3D)
    undo_requested = Signal()
    redo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tools", parent)
        self.setObjectName("toolPalette")
        self.buttons: dict[str, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        grid = QGridLayout()
        for i, (tool, text, key, tip) in enumerate(TOOLS):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setObjectName(f"tool_{tool}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(82)
            button.clicked.connect(lambda _=False, t=tool: self.tool_changed.emit(t))
            group.addButton(button)
            self.buttons[tool] = button
            grid.addWidget(button, i // 2, i % 2)
        self.buttons["navigate"].setChecked(True)

        self.radius = QDoubleSpinBox()
        self.radius.setObjectName("brushRadius")
        self.radius.setRange(0.5, 50.0)
        self.radius.setSingleStep(0.5)
        self.radius.setDecimals(1)
        self.radius.setSuffix(" mm")
        self.radius.setValue(5.0)
        self.radius.setToolTip("Brush radius in mm (Shift+wheel in a view)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 100)  # 0.5 mm steps
        self.slider.setValue(10)
        self.slider.valueChanged.connect(lambda v: self.radius.setValue(v / 2.0))
        self.radius.valueChanged.connect(self._radius_changed)

        self.ggo = QRadioButton("Ground-glass")
        self.ggo.setObjectName("labelGGO")
        self.solid = QRadioButton("Solid")
        self.solid.setObjectName("labelSolid")
        self.ggo.setChecked(True)
        self.ggo.toggled.connect(lambda on: on and self.label_changed.emit(GGO))
        self.solid.toggled.connect(lambda on: on and self.label_changed.emit(SOLID))
        labels = QHBoxLayout()
        labels.addWidget(self.ggo)
        labels.addWidget(self.solid)
        self.sphere = QCheckBox("3D sphere brush")
        self.sphere.setObjectName("sphereBrush")
        self.sphere.setToolTip("Paint a sphere through neighbouring slices instead of a disk in this slice")
        self.sphere.toggled.connect(lambda on: self.shape_changed.emit("sphere" if on else "disk"))

        self.undo_button = QPushButton("Undo")
        self.undo_button.setObjectName("undoButton")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self.undo_requested)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setObjectName("redoButton")
        self.redo_button.setEnabled(False)
        self.redo_button.clicked.connect(self.redo_requested)
        history = QHBoxLayout()
        history.addWidget(self.undo_button)
        history.addWidget(self.redo_button)

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        size_row = QHBoxLayout()
        size_row.addWidget(QLabel("Brush"))
        size_row.addWidget(self.slider, 1)
        size_row.addWidget(self.radius)
        layout.addLayout(size_row)
        layout.addWidget(self.sphere)
        layout.addWidget(QLabel("Label"))
        layout.addLayout(labels)
        layout.addLayout(history)

    def _radius_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(value * 2)))
        self.slider.blockSignals(False)
        self.radius_changed.emit(float(value))

    def select_tool(self, tool: str) -> None:
        self.buttons[tool].setChecked(True)
        self.tool_changed.emit(tool)

    def current_tool(self) -> str:
        for tool, button in self.buttons.items():
            if button.isChecked():
                return tool
        return "navigate"

    def current_label(self) -> int:
        return SOLID if self.solid.isChecked() else GGO

    def bind(self, current: Callable[[], CaseViews | None]) -> None:
        """Drive the editing tools of whatever case views ``current()`` returns (None: no case)."""

        def tools() -> EditTools | None:
            views = current()
            return views.tools if views is not None and views.tools is not None else None

        def editor() -> MaskEditor | None:
            views = current()
            return views.editor if views is not None else None

        self.tool_changed.connect(lambda t: (x := tools()) and x.set_mode(t))
        self.radius_changed.connect(lambda r: (x := tools()) and x.set_brush_radius(r))
        self.label_changed.connect(lambda v: (e := editor()) and setattr(e, "label", v))
        self.shape_changed.connect(lambda v: (e := editor()) and setattr(e, "brush_shape", v))
        self.undo_requested.connect(lambda: (x := tools()) and x.undo())
        self.redo_requested.connect(lambda: (x := tools()) and x.redo())

    def apply_to(self, views: CaseViews) -> None:
        """Give freshly built, editable case views the palette's tool, brush and label."""
        views.tools.set_brush_radius(self.radius.value())
        views.editor.label = self.current_label()
        views.editor.brush_shape = "sphere" if self.sphere.isChecked() else "disk"
        views.tools.set_mode(self.current_tool())

    def set_history(self, undo_label: str | None, redo_label: str | None) -> None:
        """Show what Undo/Redo would do ("Undo Paint solid, 3 mm")."""
        self.undo_button.setEnabled(bool(undo_label))
        self.redo_button.setEnabled(bool(redo_label))
        self.undo_button.setToolTip(f"Undo {undo_label} (Ctrl+Z)" if undo_label else "Nothing to undo")
        self.redo_button.setToolTip(f"Redo {redo_label} (Ctrl+Shift+Z)" if redo_label else "Nothing to redo")

    def setEditable(self, editable: bool) -> None:  # noqa: N802 - Qt naming
        for tool, button in self.buttons.items():
            if tool != "navigate":
                button.setEnabled(editable)
        for w in (self.radius, self.slider, self.ggo, self.solid, self.sphere):
            w.setEnabled(editable)
        if not editable:
            self.buttons["navigate"].setChecked(True)


class WindowLevelBar(QWidget):
    """A row of window/level preset buttons (1/2/3)."""

    preset_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wlBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("W/L"))
        self.buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for name, text, key in WL_PRESETS:
            button = QPushButton(f"{text}  [{key}]")
            button.setCheckable(True)
            button.setObjectName(f"wl_{name}")
            button.setToolTip(f"Window/level preset: {text} (key {key})")
            button.clicked.connect(lambda _=False, n=name: self.preset_selected.emit(n))
            group.addButton(button)
            layout.addWidget(button)
            self.buttons[name] = button
        self.buttons["lung"].setChecked(True)
        layout.addStretch(1)

    def mark(self, name: str) -> None:
        if name in self.buttons:
            self.buttons[name].setChecked(True)
