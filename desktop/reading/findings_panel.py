"""The reader's measurements and the lesion list of the open case.

* Measurements (ruler, ROI: :mod:`quant.measure`) are listed as they are made; Delete removes the
  selected one. They are saved with the draft and the signed read (metric ``measurements``).
* The lesion list: the connected lesions of the current lesion mask (volume mL, ground-glass and
  solid share, lung side), largest first; a click moves the views' crosshair to the lesion. A
  labelling of the lesions' bounding box (up to ~0.7 s on a 512 x 512 x 300 scan), so it never runs
  on the GUI thread: the load worker finds the lesions of a case as opened, and Update finds them
  again in a worker, on a copy of the masks, after edits (the list says when it is out of date).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from quant.measure import LesionComponent, Measurement, from_json, lesion_list, to_json

if TYPE_CHECKING:
    from desktop.app.workers import Worker
    from desktop.reading.case_views import CaseViews

__all__ = ["FindingsPanel"]


class FindingsPanel(QGroupBox):
    """Measurement list and lesion list over ``current()`` (the open case's views, or None)."""

    def __init__(self, current: Callable[[], CaseViews | None], parent: QWidget | None = None) -> None:
        super().__init__("Measurements and lesions", parent)
        self.setObjectName("findingsPanel")
        self._current = current
        self.measurements: list[Measurement] = []
        self.lesions: list[LesionComponent] = []
        self.measure_list = QListWidget()
        self.measure_list.setObjectName("measurementList")
        self.measure_list.setMaximumHeight(80)
        self.delete = QPushButton("Delete")
        self.delete.setObjectName("deleteMeasurement")
        self.delete.setToolTip("Delete the selected measurement")
        self.delete.clicked.connect(self.delete_selected)
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("lesionList")
        self.table.setHorizontalHeaderLabels(["#", "mL", "GGO %", "solid %", "side"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(150)
        self.table.cellClicked.connect(lambda row, _col: self.jump_to(row))
        self.update_button = QPushButton("Update lesion list")
        self.update_button.setObjectName("updateLesions")
        self.update_button.clicked.connect(self.refresh_lesions)
        self.state = QLabel("")
        self.state.setObjectName("metricName")
        row = QHBoxLayout()
        row.addWidget(self.update_button)
        row.addWidget(self.state, 1)
        measure_row = QHBoxLayout()
        measure_row.addWidget(QLabel("Ruler (M), ROI (C)"), 1)
        measure_row.addWidget(self.delete)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.measure_list)
        layout.addLayout(measure_row)
        layout.addWidget(self.table)
        layout.addLayout(row)

    # --- a case ---------------------------------------------------------------------------------
    def attach(self, views: CaseViews, saved_metrics: dict | None, changed: Callable[[], None],
               lesions: list[LesionComponent]) -> None:
        """Show a newly opened case's saved measurements (metric ``measurements``) on its views and
        in the list, call ``changed()`` when the reader changes them, and list its ``lesions``
        (found by the load worker: :func:`quant.measure.lesion_list`)."""
        saved = from_json((saved_metrics or {}).get("measurements"))
        if views.tools is not None:
            views.tools.set_measurements(saved)
            views.tools.measurementsChanged.connect(lambda ms: (self.show_measurements(ms), changed()))
        else:
            for view in views.views.values():
                view.scene.set_measurements(saved)
        self.show_measurements(saved)
        self.show_lesions(lesions)

    @staticmethod
    def metric(views: CaseViews) -> dict[str, str]:
        """What a saved read keeps of the measurements: ``{"measurements": JSON}``, or nothing."""
        if views.tools is None or not views.tools.measurements:
            return {}
        return {"measurements": to_json(views.tools.measurements)}

    # --- measurements -----------------------------------------------------------------------
    def show_measurements(self, measurements: list[Measurement]) -> None:
        self.measurements = list(measurements)
        self.measure_list.clear()
        for m in self.measurements:
            self.measure_list.addItem(m.describe())
        self.delete.setEnabled(bool(self.measurements))

    def delete_selected(self) -> None:
        views = self._current()
        row = self.measure_list.currentRow()
        if views is None or views.tools is None or not 0 <= row < len(self.measurements):
            return
        views.tools.set_measurements(self.measurements[:row] + self.measurements[row + 1:])

    # --- lesions ----------------------------------------------------------------------------
    def refresh_lesions(self) -> Worker | None:
        """Find the lesions of the current masks again, in a worker (on copies: the reader may go
        on editing); the list shows them when done. Returns the worker."""
        from desktop.app.workers import run_with_progress

        views = self._current()
        if views is None:
            return None
        lesions, lungs, spacing = views.lesions.labels.copy(), views.lungs.labels.copy(), views.volume.spacing
        self.state.setText("finding lesions…")
        return run_with_progress(self, "Lesion list", "Finding the connected lesions…",
                                 lambda _progress, _cancelled: lesion_list(lesions, lungs, spacing),
                                 on_success=self.show_lesions, cancellable=False)

    def show_lesions(self, lesions: list[LesionComponent]) -> None:
        self.lesions = list(lesions)
        self.table.setRowCount(len(self.lesions))
        for r, c in enumerate(self.lesions):
            cells = (str(c.number), f"{c.volume_ml:.2f}", f"{100 * c.ggo_share:.0f}", f"{100 * c.solid_share:.0f}",
                     c.side)
            for col, text in enumerate(cells):
                self.table.setItem(r, col, QTableWidgetItem(text))
        total = sum(c.volume_ml for c in self.lesions)
        self.state.setText(f"{len(self.lesions)} lesion(s), {total:.2f} mL")

    def mark_out_of_date(self) -> None:
        if self.lesions or self.table.rowCount():
            self.state.setText("out of date: update after edits")

    def jump_to(self, row: int) -> None:
        """Move the views' crosshair (and slices) to lesion ``row``'s centroid."""
        views = self._current()
        if views is not None and 0 <= row < len(self.lesions):
            views.widget.set_position(self.lesions[row].centroid)
