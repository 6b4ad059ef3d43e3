"""Options of the correction tools: the brush's HU limit, the grow tool's HU range and reach
(with its preview), and fill between slices.

The HU presets come from the segmentation protocol's bands (``resources/protocol.toml``:
ground glass and solid), so a reader correcting by hand uses the bands the algorithm used. Pure
widgets: the workspace applies the choices to :class:`viewer.widgets.tools.EditTools` and its
``MaskEditor``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

__all__ = ["ToolOptions", "hu_bands"]


def hu_bands() -> dict[str, tuple[float, float]]:
    """The protocol's lesion HU bands: name -> (low, high) HU, inclusive."""
    from quant.protocol import load_protocol

    lesions = load_protocol().lesions
    return {"ground glass": (lesions.ggo_min_hu, lesions.ggo_max_hu),
            "solid": (lesions.solid_min_hu, lesions.solid_max_hu),
            "any lesion": (lesions.ggo_min_hu, lesions.solid_max_hu)}


def _hu_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(-1024.0, 3071.0)
    box.setDecimals(0)
    box.setSingleStep(10.0)
    box.setSuffix(" HU")
    box.setValue(value)
    return box


class ToolOptions(QGroupBox):
    """Brush HU limit, grow range and reach, grow preview, fill between slices.

    Signals: ``brush_range_changed(object)``: (low, high) HU or None (no limit);
    ``grow_changed(object)``: ((low, high) HU, reach mm); ``keep_grow``, ``discard_grow``,
    ``fill_requested``.
    """

    brush_range_changed = Signal(object)
    grow_changed = Signal(object)
    keep_grow = Signal()
    discard_grow = Signal()
    fill_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tool options", parent)
        self.setObjectName("toolOptions")
        self.bands = hu_bands()
        self.limit = QComboBox()
        self.limit.setObjectName("brushLimit")
        self.limit.addItem("No HU limit", None)
        for name, (low, high) in self.bands.items():
            self.limit.addItem(f"{name} {low:+.0f}..{high:+.0f} HU", name)
        self.limit.addItem("custom range", "custom")
        self.limit.setToolTip("Brush and eraser change only voxels whose HU lies in this range")
        low, high = self.bands["ground glass"]
        self.limit_low, self.limit_high = _hu_box(low), _hu_box(high)
        self.limit.currentIndexChanged.connect(self._limit_changed)
        for box in (self.limit_low, self.limit_high):
            box.valueChanged.connect(self._custom_changed)

        low, high = self.bands["any lesion"]
        self.grow_low, self.grow_high = _hu_box(low), _hu_box(high)
        self.grow_reach = QDoubleSpinBox()
        self.grow_reach.setObjectName("growReach")
        self.grow_reach.setRange(1.0, 150.0)
        self.grow_reach.setDecimals(0)
        self.grow_reach.setSuffix(" mm")
        self.grow_reach.setValue(40.0)
        self.grow_reach.setToolTip("Grow never reaches further than this from the clicked voxel")
        for box in (self.grow_low, self.grow_high, self.grow_reach):
            box.valueChanged.connect(self._grow_changed)
        self.preview = QLabel("")
        self.preview.setObjectName("growPreview")
        self.keep = QPushButton("Keep")
        self.keep.setObjectName("keepGrow")
        self.keep.setToolTip("Keep the grown region (Enter, or just go on editing)")
        self.keep.clicked.connect(self.keep_grow)
        self.discard = QPushButton("Discard")
        self.discard.setObjectName("discardGrow")
        self.discard.setToolTip("Take the grown region back (Esc)")
        self.discard.clicked.connect(self.discard_grow)
        self.fill = QPushButton("Fill between slices")
        self.fill.setObjectName("fillBetweenSlices")
        self.fill.setToolTip("Interpolate the selected label across the empty axial slices between drawn ones")
        self.fill.clicked.connect(self.fill_requested)

        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.addWidget(QLabel("Brush limit"), 0, 0)
        grid.addWidget(self.limit, 0, 1, 1, 2)
        grid.addWidget(self.limit_low, 1, 1)
        grid.addWidget(self.limit_high, 1, 2)
        grid.addWidget(QLabel("Grow HU"), 2, 0)
        grid.addWidget(self.grow_low, 2, 1)
        grid.addWidget(self.grow_high, 2, 2)
        grid.addWidget(QLabel("Grow reach"), 3, 0)
        grid.addWidget(self.grow_reach, 3, 1)
        row = QHBoxLayout()
        row.addWidget(self.preview, 1)
        row.addWidget(self.keep)
        row.addWidget(self.discard)
        grid.addLayout(row, 4, 0, 1, 3)
        grid.addWidget(self.fill, 5, 0, 1, 3)
        self.show_preview(None)
        self._limit_changed()

    def brush_range(self) -> tuple[float, float] | None:
        """The brush's HU limit now, (low, high) inclusive, or None."""
        choice = self.limit.currentData()
        if choice is None:
            return None
        if choice == "custom":
            return (self.limit_low.value(), self.limit_high.value())
        return self.bands[choice]

    def grow_settings(self) -> tuple[tuple[float, float], float]:
        return (self.grow_low.value(), self.grow_high.value()), self.grow_reach.value()

    def _limit_changed(self) -> None:
        custom = self.limit.currentData() == "custom"
        for box in (self.limit_low, self.limit_high):
            box.setEnabled(custom)
        self.brush_range_changed.emit(self.brush_range())

    def _custom_changed(self) -> None:
        if self.limit.currentData() == "custom":
            self.brush_range_changed.emit(self.brush_range())

    def _grow_changed(self) -> None:
        self.grow_changed.emit(self.grow_settings())

    def show_preview(self, ml: float | None) -> None:
        """Say what the previewed grow added (mL), or hide the preview row (None)."""
        for w in (self.preview, self.keep, self.discard):
            w.setVisible(ml is not None)
        self.preview.setText("" if ml is None else f"Grow preview: +{ml:.2f} mL")
