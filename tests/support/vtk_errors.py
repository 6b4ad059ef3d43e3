"""VTK error capture: any VTK error or warning printed during a test fails that test.

VTK reports problems (shader compile failures, missing OpenGL, bad pipeline input) through its
output window and never raises. Each test gets a fresh string output window (it starts empty),
and whatever VTK wrote into it fails the test.
"""

from __future__ import annotations

import pytest


def capture_vtk_output():
    """Install a fresh VTK string output window and return it."""
    from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow

    window = vtkStringOutputWindow()
    vtkOutputWindow.SetInstance(window)
    return window


@pytest.fixture(autouse=True)
def vtk_errors_fail_test(request):
    """Fail the test if VTK wrote any error or warning while it ran."""
    window = capture_vtk_output()
    yield
    text = window.GetOutput()
    if text.strip() and "vtk_output_allowed" not in request.keywords:
        pytest.fail(f"VTK reported errors during the test:\n{text}", pytrace=False)
