"""File → Open DICOM folder: ad-hoc review of any CT series, outside any trial and database.

Same viewer and tools as the reading workspace; nothing is saved anywhere. Scanning the folder,
loading and the optional automatic segmentation run in workers with progress.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.application import restore_geometry, save_geometry, show_error, show_exception
from desktop.app.workers import run_with_progress
from desktop.reading.case_loader import load_volume, segment_volume
from desktop.reading.case_views import build_case_views
from desktop.reading.read_form import MetricsPanel
from desktop.reading.tool_palette import ToolPalette, WindowLevelBar
from quant.labels import LesionMasks, LungMasks

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent

    from desktop.app.workers import Worker
    from desktop.reading.case_views import CaseViews
    from quant.dicom.scan import ScanResult
    from quant.volume import Volume

__all__ = ["AdhocViewer"]


class AdhocViewer(QMainWindow):
    """A review window over one series of ``folder``."""

    ready = Signal()

    def __init__(self, folder: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)
        self.setObjectName("adhocViewer")
        self.setWindowTitle("LungRead — ad-hoc review (not part of any trial)")
        self.resize(1400, 900)
        self.views: CaseViews | None = None
        self.volume: Volume | None = None
        self.worker: Worker | None = None

        self.wl_bar = WindowLevelBar()
        self.wl_bar.preset_selected.connect(self.apply_preset)
        self.series_label = QLabel("")
        self.series_label.setObjectName("caseTitle")
        top = QHBoxLayout()
        top.addWidget(self.series_label)
        top.addSpacing(20)
        top.addWidget(self.wl_bar, 1)
        self.holder = QVBoxLayout()
        self.palette = ToolPalette()
        self.metrics = MetricsPanel()
        self.segment_button = QPushButton("Run automatic segmentation")
        self.segment_button.clicked.connect(self.run_segmentation)
        note = QLabel("Ad-hoc review: edits are not saved and nothing is written to a database.")
        note.setWordWrap(True)
        note.setObjectName("metricName")
        side = QFrame()
        side.setObjectName("sidePanel")
        side.setFixedWidth(320)
        sl = QVBoxLayout(side)
        sl.addWidget(self.palette)
        sl.addWidget(self.metrics)
        sl.addWidget(self.segment_button)
        sl.addStretch(1)
        sl.addWidget(note)
        body = QHBoxLayout()
        body.addLayout(self.holder, 1)
        body.addWidget(side)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.setCentralWidget(central)
        self.palette.bind(lambda: self.views)
        restore_geometry(self, "adhoc")

    def start(self) -> None:
        """Scan the folder (worker), let the user pick a series if several, then load it."""
        folder = self.folder

        def work(progress, cancelled):  # noqa: ANN001, ANN202
            from quant.dicom.load import scan_folder  # lazy: pydicom loads only when a folder is opened

            return scan_folder(folder)

        self.worker = run_with_progress(self, "Open DICOM folder", f"Scanning {folder}…", work,
                                        on_success=self._scanned, on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        show_exception(self, exc, modal=False)
        self.statusBar().showMessage("The folder could not be opened.")

    def _scanned(self, result: ScanResult) -> None:
        series = [s for s in result.series if getattr(s, "is_image", True)]
        if not series:
            show_error(self, f"No CT image series was found in {self.folder}.",
                       "Choose a folder that holds the DICOM files of one CT series.", modal=False)
            return
        series.sort(key=lambda s: (s.modality != "CT", -s.n_slices))
        chosen = series[0]
        if len(series) > 1:
            labels = [f"{s.display_label} — {s.n_slices} slices" for s in series]
            label, ok = QInputDialog.getItem(self, "Choose a series", "Series:", labels, 0, False)
            if not ok:
                return
            chosen = series[labels.index(label)]
        self.series_label.setText(chosen.display_label)
        files = list(chosen.files)
        self.worker = run_with_progress(self, "Open DICOM folder", "Loading images…",
                                        lambda p, c: load_volume(files, p), on_success=self._loaded,
                                        on_error=self._failed)

    def _loaded(self, volume: Volume) -> None:
        self.volume = volume
        empty = np.zeros(volume.shape, dtype=np.uint8)
        self._show(LungMasks(empty), LesionMasks(empty.copy()))
        self.statusBar().showMessage(
            f"{volume.shape[2]}×{volume.shape[1]}×{volume.shape[0]} voxels, spacing "
            + " × ".join(f"{s:.2f}" for s in volume.spacing[::-1]) + " mm")
        self.ready.emit()

    def _show(self, lungs: LungMasks, lesions: LesionMasks) -> None:
        if self.views is not None:
            self.views.close()
        self.views = build_case_views(self.volume, lungs, lesions, editable=True, parent=self)
        self.holder.addWidget(self.views.widget)
        self.views.tools.metricsChanged.connect(self.metrics.show_metrics)
        self.palette.apply_to(self.views)
        self.metrics.show_metrics(self.views.tracker.metrics)

    def run_segmentation(self) -> None:
        if self.volume is None:
            return
        volume = self.volume
        self.worker = run_with_progress(
            self, "Automatic segmentation", "Segmenting lungs and lesions…",
            lambda p, c: segment_volume(volume, p, c),
            on_success=lambda r: self._show(r.lungs, r.lesions), on_error=self._failed)

    def apply_preset(self, name: str) -> None:
        if self.views is not None:
            self.views.apply_preset(name)
            self.wl_bar.mark(name)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        save_geometry(self, "adhoc")
        if self.views is not None:
            self.views.close()
            self.views = None
        super().closeEvent(event)


