"""GUI smoke test: a real Qt window with a QVTKRenderWindowInteractor renders the phantom.

Checked through rendered pixels (vtkWindowToImageFilter), so a view that renders nothing fails.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _window_pixels(render_window) -> np.ndarray:
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

    grab = vtkWindowToImageFilter()
    grab.SetInput(render_window)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    w, h, _ = image.GetDimensions()
    rgb = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, 3)
    return rgb[::-1]  # VTK rows go bottom-up


def test_phantom_middle_slice_renders_lungs_dark_and_chest_wall_bright(qtbot, small_phantom):
    import vtkmodules.vtkInteractionStyle  # noqa: F401
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL backend)
    from PySide6.QtWidgets import QMainWindow
    from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkRenderingCore import vtkImageSlice, vtkImageSliceMapper, vtkRenderer

    volume = small_phantom.volume
    z = volume.shape[0] // 2
    plane = np.ascontiguousarray(volume.hu[z])
    ny, nx = plane.shape
    image = vtkImageData()
    image.SetDimensions(nx, ny, 1)
    image.SetSpacing(volume.spacing[2], volume.spacing[1], 1.0)
    image.GetPointData().SetScalars(numpy_to_vtk(plane.ravel(), deep=True))

    mapper = vtkImageSliceMapper()
    mapper.SetInputData(image)
    actor = vtkImageSlice()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColorWindow(1500)  # lung window
    actor.GetProperty().SetColorLevel(-600)
    renderer = vtkRenderer()
    renderer.AddViewProp(actor)
    renderer.SetBackground(0, 0, 0)

    window = QMainWindow()
    view = QVTKRenderWindowInteractor(window)
    window.setCentralWidget(view)
    window.resize(400, 400)
    view.GetRenderWindow().AddRenderer(renderer)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    view.Initialize()
    renderer.ResetCamera()
    renderer.GetActiveCamera().ParallelProjectionOn()
    renderer.ResetCamera()
    view.GetRenderWindow().Render()

    pixels = _window_pixels(view.GetRenderWindow()).astype(float).mean(axis=2)
    rw, rh = view.GetRenderWindow().GetSize()
    assert pixels.shape == (rh, rw)

    # Map truth regions of the slice to window pixels through the renderer's world->display transform.
    def display_values(mask2d: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(mask2d)
        pick = np.linspace(0, len(xs) - 1, num=min(200, len(xs))).astype(int)
        values = []
        for y, x in zip(ys[pick], xs[pick]):
            renderer.SetWorldPoint(x * volume.spacing[2], y * volume.spacing[1], 0.0, 1.0)
            renderer.WorldToDisplay()
            dx, dy, _ = renderer.GetDisplayPoint()
            row, col = int(round(rh - 1 - dy)), int(round(dx))
            if 0 <= row < rh and 0 <= col < rw:
                values.append(pixels[row, col])
        assert values, "truth region fell outside the rendered view"
        return np.asarray(values)

    lungs = small_phantom.lungs[z] & ~small_phantom.lesion[z]
    chest_wall = small_phantom.bone[z]
    lung_grey = np.median(display_values(lungs))
    wall_grey = np.median(display_values(chest_wall))
    # Lung window -600/1500 maps -1350..+150 HU to 0..255: parenchyma (~-850 HU) is grey ~85, bone
    # (>= +300 HU) saturates at 255. "Dark" = darker than -700 HU (grey 110).
    assert lung_grey < 110, f"lungs should render dark in a lung window, got grey {lung_grey:.0f}"
    assert wall_grey > 200, f"bone/chest wall should render bright, got grey {wall_grey:.0f}"
    # And the view is not blank: the image covers much of the window with varied grey levels.
    assert pixels.std() > 30
