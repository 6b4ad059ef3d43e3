"""Shared pytest fixtures.

GUI tests run on a real X server: pytest-xvfb starts Xvfb when there is no DISPLAY, and Qt uses the
xcb platform. ``offscreen`` is never used: under it QVTKRenderWindowInteractor cannot create an
OpenGL context, logs shader errors and the test still passes (a silent false green).
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "xcb"  # must precede any Qt import

import pytest

pytest_plugins = ["tests.fixtures_vtk"]


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path_factory, monkeypatch):
    """Point the platformdirs user data folder at a temp dir, so tests never touch ~/.local."""
    monkeypatch.setenv("LUNGREAD_DATA_DIR", str(tmp_path_factory.mktemp("userdata")))


@pytest.fixture(scope="session")
def small_phantom():
    """A small synthetic chest CT (about 128×128×80 at 2.5 mm) with lesions, seed 7."""
    from quant.phantom import make_scan

    return make_scan(size="small", seed=7)
