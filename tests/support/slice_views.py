"""Driving a real SliceView in tests: build one, send it real Qt mouse and wheel events, read its
rendered pixels."""

from __future__ import annotations

import numpy as np


def send_mouse(widget, kind, pos, button, buttons, modifiers=None):
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}
    mods = modifiers if modifiers is not None else Qt.KeyboardModifier.NoModifier
    local = QPointF(round(pos.x()), round(pos.y()))
    event = QMouseEvent(types[kind], local, widget.mapToGlobal(local), button, buttons, mods)
    QApplication.sendEvent(widget, event)


def drag(view, points_zyx, button=None):
    """Press at the first voxel, move through the others, release at the last: real events."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    # Pending resize/layout events refit the camera: map voxels to pixels only after them.
    QApplication.processEvents()
    button = button or Qt.MouseButton.LeftButton
    w = view.vtk_widget
    positions = [view.widget_point(p) for p in points_zyx]
    send_mouse(w, "press", positions[0], button, button)
    for pos in positions[1:]:
        send_mouse(w, "move", pos, Qt.MouseButton.NoButton, button)
    send_mouse(w, "release", positions[-1], button, Qt.MouseButton.NoButton)
    return positions


def wheel(view, notches, modifiers=None, pos=None):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    w = view.vtk_widget
    local = pos or QPointF(w.width() / 2, w.height() / 2)
    mods = modifiers if modifiers is not None else Qt.KeyboardModifier.NoModifier
    event = QWheelEvent(local, w.mapToGlobal(local), QPoint(0, 0), QPoint(0, int(120 * notches)),
                        Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(w, event)


def pixels(view) -> np.ndarray:
    """RGB of the view's render window, rows top-down."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    view.render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(view.render_window)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    w, h, _ = image.GetDimensions()
    return vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, 3)[::-1]


def make_view(qtbot, case, orientation="axial", mode="paint", radius_mm=3.0):
    from quant.editing.editor import MaskEditor
    from viewer.scene.layers import ViewerLayers
    from viewer.widgets.slice_view import SliceView
    from viewer.widgets.tools import EditTools

    layers = ViewerLayers(case.volume, case.lungs, case.lesions)
    editor = MaskEditor(case.volume, case.lungs, case.lesions)
    editor.radius_mm = radius_mm
    tools = EditTools(editor, layers)
    tools.set_mode(mode)
    view = SliceView(layers, orientation, tools)
    view.resize(400, 400)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.render()
    return view, editor, tools
