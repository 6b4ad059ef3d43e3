"""The native VTK render widget of a slice view, forwarding Qt input to its owner.

VTK's interactor styles are not used: every mouse/key event goes to the owning
:class:`viewer.widgets.slice_view.SliceView`, which handles it in Python.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text rendering)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backend)
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor

if TYPE_CHECKING:
    from viewer.widgets.slice_view import SliceView

__all__ = ["ForwardingInteractor"]


class ForwardingInteractor(QVTKRenderWindowInteractor):
    """The VTK render widget of a SliceView; forwards Qt input to it instead of VTK styles.

    ``owner`` is held weakly and must provide ``_mouse_press``, ``_mouse_release``,
    ``_mouse_move``, ``_wheel``, ``_key_press``, ``_leave``, ``_resized`` and ``scene``.
    """

    def __init__(self, owner: "SliceView") -> None:
        super().__init__(owner)
        self._owner = weakref.ref(owner)
        self._Iren.SetInteractorStyle(None)

    def _view(self) -> "SliceView | None":
        return self._owner()

    def mousePressEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        view = self._view()
        if view is not None:
            view._mouse_press(ev)

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view._mouse_release(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view._mouse_move(ev)

    def wheelEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view._wheel(ev)

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view._key_press(ev)

    def keyReleaseEvent(self, ev) -> None:  # noqa: N802
        pass

    def enterEvent(self, ev) -> None:  # noqa: N802
        pass

    def leaveEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view._leave()

    def paintEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.scene.compose_pending()
        super().paintEvent(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        view = self._view()
        if view is not None:
            view._resized()
