"""Shared pytest fixtures.

GUI tests run on a real X server: pytest-xvfb starts Xvfb when there is no DISPLAY, and Qt uses the
xcb platform. ``offscreen`` is never used: under it QVTKRenderWindowInteractor cannot create an
OpenGL context, logs shader errors and the test still passes (a silent false green).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "xcb"  # must precede any Qt import

import pytest

pytest_plugins = ["tests.support.vtk_errors"]


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch):
    """Point the platformdirs user data folder at a temp dir, so tests never touch ~/.local."""
    monkeypatch.setenv("LUNGREAD_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))


@pytest.fixture(scope="session")
def small_phantom():
    """A small synthetic chest CT (about 128×128×80 at 2.5 mm) with lesions, seed 7."""
    from quant.phantom import make_scan

    return make_scan(size="small", seed=7)


# PySide6 + VTK sometimes abort during interpreter finalization after every test has passed
# ("Fatal Python error: bool_dealloc", a refcount bug in the bindings' teardown; the application
# itself exits cleanly). The run's result is already reported by then, so leave with pytest's own
# exit status instead of letting that teardown turn a green run into exit 134.
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    session.config._lungread_exitstatus = int(exitstatus)


def pytest_unconfigure(config):
    status = getattr(config, "_lungread_exitstatus", None)
    if status is not None and os.environ.get("LUNGREAD_PYTEST_HARD_EXIT", "1") == "1":
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
