"""VTK error capture: any VTK error or warning printed during a test fails that test.

VTK reports problems (shader compile failures, missing OpenGL, bad pipeline input) through its
output window and never raises. We install a string output window for the whole session and check
it after every test.
"""

from __future__ import annotations

import pytest

_window = None


def _vtk_output_window():
    global _window
    if _window is None:
        from vtkmodules.vtkCommonCore import vtkOutputWindow, vtkStringOutputWindow

        _window = vtkStringOutputWindow()
        vtkOutputWindow.SetInstance(_window)
    return _window


@pytest.fixture(autouse=True)
def vtk_errors_fail_test(request):
    """Fail the test if VTK wrote any error or warning while it ran."""
    try:
        import vtkmodules  # noqa: F401
    except ImportError:  # pragma: no cover - vtk is a hard dependency
        yield
        return
    window = _vtk_output_window()
    start = len(window.GetOutput())  # the window only accumulates: look at what this test added
    yield
    text = window.GetOutput()[start:]
    if text.strip() and "vtk_output_allowed" not in request.keywords:
        pytest.fail(f"VTK reported errors during the test:\n{text}", pytrace=False)
