"""The reader's display controls: each label's visibility and opacity, lesions filled or as
outlines, the lung outline, and the CT alone while a key is held.

The panel keeps the reader's choice and applies it to every case's
:class:`viewer.scene.layers.ViewerLayers` (a new case opens with the same look). Keys (see
:mod:`desktop.reading.shortcuts`): V lesions on/off, O fill/outline, L lung outline, [ and ]
lesion opacity, X held: the CT alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QLabel, QSlider, QWidget

if TYPE_CHECKING:
    from viewer.scene.layers import ViewerLayers

__all__ = ["DisplayPanel", "OPACITY_STEP"]

OPACITY_STEP = 10  # percentage points per [ or ]


class DisplayPanel(QGroupBox):
    """Checkboxes and sliders over the open case's label look (``current()``: its layers, or
    None without a case; ``changed()``: re-render the views)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Display", parent)
        self.setObjectName("displayPanel")
        self._current: Callable[[], ViewerLayers | None] = lambda: None
        self._changed: Callable[[], None] = lambda: None
        self.visible: dict[str, QCheckBox] = {}
        self.opacity: dict[str, QSlider] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        for row, (name, text) in enumerate((("ggo", "Ground glass"), ("solid", "Solid"))):
            box = QCheckBox(text)
            box.setChecked(True)
            box.setToolTip("Show this label (V: both lesion labels)")
            box.toggled.connect(lambda on, n=name: self._apply(lambda layers: layers.set_label_visible(n, on)))
            slider = QSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"opacity_{name}")
            slider.setRange(0, 100)
            slider.setToolTip("Fill opacity ([ and ]: both lesion labels)")
            slider.valueChanged.connect(
                lambda v, n=name: self._apply(lambda layers: layers.set_label_opacity(n, v / 100.0)))
            self.visible[name], self.opacity[name] = box, slider
            grid.addWidget(box, row, 0)
            grid.addWidget(slider, row, 1)
        self.outline = QCheckBox("Lesions as outlines")
        self.outline.setToolTip("Draw the lesion labels as outlines, so the parenchyma inside shows (O)")
        self.outline.toggled.connect(lambda on: self._apply(lambda layers: layers.set_lesion_outline(on)))
        self.lung = QCheckBox("Lung outline")
        self.lung.setChecked(True)
        self.lung.setToolTip("Show the lung outline (L)")
        self.lung.toggled.connect(lambda on: self._apply(lambda layers: layers.set_label_visible("lung", on)))
        hint = QLabel("Hold X: the CT alone")
        hint.setObjectName("metricName")
        grid.addWidget(self.outline, 2, 0, 1, 2)
        grid.addWidget(self.lung, 3, 0, 1, 2)
        grid.addWidget(hint, 4, 0, 1, 2)
        self._defaults_set = False

    def bind(self, current: Callable[[], ViewerLayers | None], changed: Callable[[], None]) -> None:
        self._current, self._changed = current, changed

    def _apply(self, change: Callable[[ViewerLayers], None]) -> None:
        layers = self._current()
        if layers is not None:
            change(layers)
            self._changed()

    def apply_to(self, layers: ViewerLayers) -> None:
        """Give a newly opened case's layers the reader's current look (the first case sets the
        sliders from the display settings' default opacities)."""
        if not self._defaults_set:
            for name, slider in self.opacity.items():
                slider.blockSignals(True)
                slider.setValue(round(100 * layers.opacity(name)))  # type: ignore[arg-type]
                slider.blockSignals(False)
            self._defaults_set = True
        for name in ("ggo", "solid"):
            layers.set_label_visible(name, self.visible[name].isChecked())  # type: ignore[arg-type]
            layers.set_label_opacity(name, self.opacity[name].value() / 100.0)  # type: ignore[arg-type]
        layers.set_label_visible("lung", self.lung.isChecked())
        layers.set_lesion_outline(self.outline.isChecked())

    # --- keys ------------------------------------------------------------------------------
    def toggle_lesions(self) -> None:
        on = not (self.visible["ggo"].isChecked() or self.visible["solid"].isChecked())
        for box in self.visible.values():
            box.setChecked(on)

    def toggle_outline(self) -> None:
        self.outline.setChecked(not self.outline.isChecked())

    def toggle_lung(self) -> None:
        self.lung.setChecked(not self.lung.isChecked())

    def step_opacity(self, step: int) -> None:
        for slider in self.opacity.values():
            slider.setValue(slider.value() + step)

    def set_ct_alone(self, on: bool) -> None:
        """While a key is held: hide every label without changing the checkboxes."""
        self._apply(lambda layers: layers.set_overlays_hidden(on))

    def watch(self, widget: QWidget) -> None:
        """Let X held over ``widget`` (an image view with the focus) show the CT alone."""
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == Qt.Key.Key_X \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            if not event.isAutoRepeat():
                self.set_ct_alone(kind == QEvent.Type.KeyPress)
            return True
        if kind == QEvent.Type.FocusOut:  # a release the view will never see
            layers = self._current()
            if layers is not None and layers.overlays_hidden:
                self.set_ct_alone(False)
        return super().eventFilter(watched, event)
