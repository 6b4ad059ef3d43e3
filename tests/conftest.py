"""Shared pytest fixtures.

GUI tests run on a real X server: pytest-xvfb starts Xvfb when there is no DISPLAY, and Qt uses the
xcb platform. ``offscreen`` is never used: under it QVTKRenderWindowInteractor cannot create an
OpenGL context, logs shader errors and the test still passes (a silent false green).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "xcb"  # must precede any Qt import

import pytest
from PySide6.QtCore import QCoreApplication, Qt

# As desktop.app.application.create_application does before the QApplication exists: VTK's Qt
# widgets share one OpenGL context. Without it a test that happens to create the session's
# QApplication (pytest-qt's qapp) and then a render window could crash at its first event loop
# (seen under random test order).
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

pytest_plugins = ["tests.support.vtk_errors"]


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_teardown(item):
    """After pytest-qt has closed a test's widgets, delete them now. Their deleteLater() would
    otherwise wait for some later event loop, and a VTK render widget destroyed there, in the
    middle of another test's expose events, crashed in QWidgetPrivate::paintOnScreen (seen under
    random test order, ~1 run in 8 of tests/viewer/widgets/test_slice_view.py)."""
    yield
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        QCoreApplication.sendPostedEvents(None, int(QEvent.Type.DeferredDelete.value))
        app.processEvents()


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch):
    """Point the platformdirs user data folder at a temp dir, so tests never touch ~/.local."""
    monkeypatch.setenv("LUNGREAD_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))


@pytest.fixture(scope="session")
def small_phantom():
    """A small synthetic chest CT (about 128×128×80 at 2.5 mm) with lesions, seed 7."""
    from quant.phantom import make_scan

    return make_scan(size="small", seed=7)


def pytest_unconfigure(config):
    """Delete the windows the tests left while the QApplication still exists, as the application
    does at exit (desktop.app.application.delete_all_windows): left to interpreter shutdown they
    crashed the test process after a green run ("shared QObject was deleted directly")."""
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from desktop.app.application import delete_all_windows

        delete_all_windows()  # also freezes the tests' leftover wrappers for the final GC
