"""VolumeView3D: the Qt 3D view (volume rendering + lesion surfaces that follow edits).

Surface updates never block painting:

1. every lesion change restarts a debounce timer (``surface_debounce_ms``, 300 ms by default),
   so nothing is computed while the reader is still drawing;
2. when it fires, a worker *thread* copies the live label map (numpy copy, GIL released), crops
   it to the lesion bounding box and runs vtkSurfaceNets3D + smoothing (VTK releases the GIL);
3. the result comes back through a queued Qt signal and is swapped into the mappers on the GUI
   thread; results older than the newest request are dropped.

Left-drag rotates, right-drag zooms, middle-drag pans (VTK trackball camera style).
"""

from __future__ import annotations

import threading

import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera

from quant.labels import LabelTarget
from viewer.scene.image_data import Box
from viewer.scene.layers import ViewerLayers
from viewer.scene.scene3d import VolumeScene3D
from viewer.scene.surfaces import LesionSurfaces, lesion_surfaces

__all__ = ["VolumeView3D"]


class _Relay(QObject):
    """Carries worker results to the GUI thread (lives in the GUI thread: queued delivery)."""

    ready = Signal(int, object)


class VolumeView3D(QWidget):
    """3D view of a case.

    Args:
        layers: the case's CT and live labels.
        volume_rendering: draw the CT volume too (surfaces are always drawn).

    Signals:
        surfacesUpdated(int): new surfaces are on screen; the argument is the request number.
    """

    surfacesUpdated = Signal(int)

    def __init__(
        self, layers: ViewerLayers, volume_rendering: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.layers = layers
        self.scene = VolumeScene3D(layers, volume_rendering=volume_rendering)
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.render_window.AddRenderer(self.scene.renderer)
        self.vtk_widget.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.vtk_widget)
        self.setMinimumSize(120, 120)
        self._initialized = False
        self._relay = _Relay(self)
        self._relay.ready.connect(self._surfaces_ready)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(layers.settings.surface_debounce_ms)
        self._debounce.timeout.connect(self.update_surfaces_now)
        self._request = 0
        self._shown = 0
        self._threads: list[threading.Thread] = []
        layers.add_change_callback(self._labels_changed)
        self.update_surfaces_now()

    # ------------------------------------------------------------------ Qt plumbing
    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        if not self._initialized:
            self.vtk_widget.Initialize()
            self._initialized = True

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.close_vtk()
        super().closeEvent(ev)

    def close_vtk(self) -> None:
        self._debounce.stop()
        self.wait_idle()
        self.render_window.Finalize()

    def render(self) -> None:  # type: ignore[override]
        if self.isVisible():
            self.render_window.Render()

    # ------------------------------------------------------------------ surfaces
    @property
    def pending(self) -> bool:
        """True while a requested surface update is not yet on screen."""
        return self._debounce.isActive() or self._shown != self._request

    def _labels_changed(self, target: LabelTarget, box: Box) -> None:
        if target == "lesion":
            self._debounce.start()  # restart: compute only once edits pause

    def update_surfaces_now(self) -> None:
        """Start a background surface computation of the current labels (no debounce)."""
        self._debounce.stop()
        self._request += 1
        request = self._request
        labels = self.layers.lesions.labels
        spacing = self.layers.volume.spacing
        iterations = self.layers.settings.surface_smoothing_iterations
        relay = self._relay

        def work() -> None:
            snapshot = labels.copy()  # the GUI may keep editing the live array meanwhile
            surfaces = lesion_surfaces(snapshot, spacing, iterations)
            relay.ready.emit(request, surfaces)

        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=work, name=f"lesion-surfaces-{request}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _surfaces_ready(self, request: int, surfaces: LesionSurfaces) -> None:
        if request != self._request:
            return  # a newer request is running; its result will replace this one
        self.scene.set_surfaces(surfaces)
        self._shown = request
        self.render()
        self.surfacesUpdated.emit(request)

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Join running surface threads (tests/shutdown); queued results still need the event loop."""
        for thread in list(self._threads):
            thread.join(timeout_s)
