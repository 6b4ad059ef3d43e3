"""The native VTK render widget of a slice view, forwarding Qt input to its owner.

VTK's interactor styles are not used: every mouse/key event goes to the owning widget through
the public :class:`InputTarget` protocol (:class:`viewer.widgets.slice_view.SliceView` implements it).
"""

from __future__ import annotations

import weakref
from typing import Protocol

import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text rendering)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backend)
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QWidget
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor

__all__ = ["ForwardingInteractor", "InputTarget"]


class InputTarget(Protocol):
    """What the render widget forwards its Qt input to (the widget that owns it)."""

    def handle_mouse_press(self, ev: QMouseEvent) -> None: ...
    def handle_mouse_release(self, ev: QMouseEvent) -> None: ...
    def handle_mouse_move(self, ev: QMouseEvent) -> None: ...
    def handle_wheel(self, ev: QWheelEvent) -> None: ...
    def handle_key_press(self, ev: QKeyEvent) -> None: ...
    def handle_leave(self) -> None: ...
    def handle_resize(self) -> None: ...
    def before_paint(self) -> None:
        """Bring the picture up to date (called on every paint, before VTK renders)."""


class ForwardingInteractor(QVTKRenderWindowInteractor):
    """The VTK render widget of a view; forwards Qt input to its owner instead of VTK styles.

    ``owner`` (the parent widget, an :class:`InputTarget`) is held weakly.
    """

    def __init__(self, owner: QWidget, target: InputTarget) -> None:
        super().__init__(owner)
        self._owner = weakref.ref(target)
        self._Iren.SetInteractorStyle(None)

    def _view(self) -> InputTarget | None:
        return self._owner()

    def mousePressEvent(self, ev) -> None:  # noqa: N802 (Qt naming)
        view = self._view()
        if view is not None:
            view.handle_mouse_press(ev)

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        handler = getattr(view, "handle_double_click", None)
        if handler is not None:
            handler(ev)

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.handle_mouse_release(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.handle_mouse_move(ev)

    def wheelEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.handle_wheel(ev)

    def keyPressEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.handle_key_press(ev)

    def keyReleaseEvent(self, ev) -> None:  # noqa: N802
        pass

    def enterEvent(self, ev) -> None:  # noqa: N802
        pass

    def leaveEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.handle_leave()

    def paintEvent(self, ev) -> None:  # noqa: N802
        view = self._view()
        if view is not None:
            view.before_paint()
        super().paintEvent(ev)

    def resizeEvent(self, ev) -> None:  # noqa: N802
        super().resizeEvent(ev)
        view = self._view()
        if view is not None:
            view.handle_resize()
