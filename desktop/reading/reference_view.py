"""Sequential reading: the same subject's baseline scan beside the follow-up being read.

When the charter asks for it (``Charter.sequential_reading``), ``db.services.open_task`` hands the
reader a :class:`db.services.ReferenceCase`: the baseline's images under the reader's own case code
and the lesion mask of their own signed baseline read. It is shown read-only in an axial view to
the left of the case's views, titled by case code only (no visit name), and it follows the case's
axial view: the slice nearest the same patient z (LPS, mm), and the same window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from db.services import ReferenceCase
    from quant.volume import Volume
    from viewer.widgets.slice_view import SliceView

__all__ = ["ReferenceView", "load_reference"]


def load_reference(reference: ReferenceCase, progress: Callable[..., None]) -> Volume:
    """The baseline's CT (in the load worker, after the case's own)."""
    from desktop.reading.case_loader import load_volume

    return load_volume(list(reference.series_files) or reference.series_dir,
                       lambda done, total, text="": progress(done, total, f"Reference scan: {text}"))


class ReferenceView(QWidget):
    """The read-only baseline view; :meth:`follow` links it to the case's axial view."""

    def __init__(self, reference: ReferenceCase, volume: Volume, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from quant.labels import LesionMasks, LungMasks
        from viewer.scene.layers import ViewerLayers
        from viewer.widgets.slice_view import SliceView

        self.setObjectName("referenceView")
        self.volume = volume
        lesions = reference.lesion_labels
        if lesions is None or lesions.shape != volume.shape:
            lesions = np.zeros(volume.shape, np.uint8)
        read = ("your signed baseline read shown" if reference.lesion_labels is not None
                else "your baseline read is not signed yet: images only")
        self.title = QLabel(f"Reference: case {reference.case_code}, the baseline of this subject "
                            f"(read-only; {read})")
        self.title.setObjectName("metricName")
        self.title.setWordWrap(True)
        self.layers = ViewerLayers(volume, LungMasks(np.zeros(volume.shape, np.uint8)),
                                   LesionMasks(np.ascontiguousarray(lesions, dtype=np.uint8)))
        self.view: SliceView = SliceView(self.layers, "axial", None, parent=self)
        self.view.setObjectName("view_reference")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def follow(self, axial: SliceView) -> None:
        """Keep to ``axial``'s patient z and window (the reference can still be scrolled alone)."""
        source = axial.scene.volume

        def to_slice(index: int) -> None:
            z_mm = source.index_to_lps(np.array([index, 0.0, 0.0]))[0][2]
            centre = (np.array(self.volume.shape, dtype=float) - 1) / 2.0
            probe = self.volume.index_to_lps(np.array([[0.0, centre[1], centre[2]],
                                                       [self.volume.shape[0] - 1.0, centre[1], centre[2]]]))
            zs = np.linspace(probe[0][2], probe[1][2], self.volume.shape[0])
            self.view.set_slice(int(np.argmin(np.abs(zs - z_mm))), render=True)

        axial.sliceChanged.connect(to_slice)
        axial.windowLevelChanged.connect(
            lambda level, width: self.view.scene.window_level != (level, width)
            and self.view.set_window_level(level, width))
        to_slice(axial.scene.slice_index)

    def close_vtk(self) -> None:
        self.view.close_vtk()
