"""Offscreen four-view snapshot (axial, 3D, coronal, sagittal) with overlays, as a PNG.

No X server is needed: the render window is created offscreen. With no ``DISPLAY`` the EGL
window class is used directly (Mesa's EGL surfaceless/device platform); with a display the
default class renders offscreen (no window appears). Layout, 2 x 2 as in 3D Slicer's four-up::

    axial     | 3D
    ----------+---------
    coronal   | sagittal

The views cross at ``position_zyx``; by default the point where the lesion burden is largest
along each axis, so every slice shows disease when there is any.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import vtkmodules.vtkRenderingFreeType  # noqa: F401  (text)
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (OpenGL backend)
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (volume mappers)
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOImage import vtkPNGWriter
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

from quant.errors import LungReadError
from quant.labels import LesionMasks, LungMasks
from quant.volume import Volume
from viewer.scene.layers import ViewerLayers
from viewer.scene.scene3d import VolumeScene3D
from viewer.scene.slice_scene import SliceScene
from viewer.scene.surfaces import lesion_surfaces

__all__ = ["SnapshotError", "render_snapshot", "write_snapshot", "default_position", "parse_size"]

_GAP_PX = 2  # dark separator between panes


class SnapshotError(LungReadError):
    """The snapshot could not be rendered or written (bad size, no offscreen OpenGL, ...)."""


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WIDTHxHEIGHT"`` (pixels), e.g. ``"1600x1200"``."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SnapshotError(f"size must look like 1600x1200 (pixels), got {text!r}") from None
    if not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise SnapshotError(f"size {w}x{h} is out of range: each side must be 64..8192 pixels")
    return w, h


def default_position(lesions: LesionMasks | None, shape: tuple[int, int, int]) -> NDArray[np.float64]:
    """(z, y, x) voxel where the lesion voxel count per slice peaks on each axis (or the centre)."""
    centre = np.rint((np.array(shape, dtype=float) - 1) / 2.0)
    if lesions is None or not lesions.labels.any():
        return centre
    mask = lesions.labels > 0
    pos = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        pos.append(float(np.argmax(mask.sum(axis=other))))
    return np.array(pos)


def _offscreen_window() -> vtkRenderWindow:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        try:
            from vtkmodules.vtkRenderingOpenGL2 import vtkEGLRenderWindow
        except ImportError:  # pragma: no cover - VTK built without EGL: let the factory choose
            window = vtkRenderWindow()
        else:
            window = vtkEGLRenderWindow()
    else:
        window = vtkRenderWindow()
    window.SetOffScreenRendering(1)
    window.SetMultiSamples(0)
    return window


def render_snapshot(
    volume: Volume,
    lungs: LungMasks | None = None,
    lesions: LesionMasks | None = None,
    size: tuple[int, int] = (1600, 1200),
    position_zyx=None,
) -> NDArray[np.uint8]:
    """Render the four views offscreen; returns an RGB image (height, width, 3), rows top-down."""
    width, height = size
    layers = ViewerLayers(volume, lungs, lesions)
    window = _offscreen_window()
    window.SetSize(width, height)
    background = vtkRenderer()  # draws the separators: the panes leave gaps over it
    background.SetBackground(0.16, 0.16, 0.18)
    background.SetViewport(0, 0, 1, 1)
    background.SetLayer(0)
    window.SetNumberOfLayers(2)
    window.AddRenderer(background)

    gx, gy = _GAP_PX / width / 2.0, _GAP_PX / height / 2.0
    cells = {  # (x0, y0, x1, y1) normalised viewport, origin bottom-left
        "axial": (0.0, 0.5 + gy, 0.5 - gx, 1.0),
        "3d": (0.5 + gx, 0.5 + gy, 1.0, 1.0),
        "coronal": (0.0, 0.0, 0.5 - gx, 0.5 - gy),
        "sagittal": (0.5 + gx, 0.0, 1.0, 0.5 - gy),
    }
    position = default_position(lesions, volume.shape) if position_zyx is None else np.asarray(position_zyx, float)
    pane_aspect = (width / 2.0) / (height / 2.0)
    scenes = []
    for orientation in ("axial", "coronal", "sagittal"):
        scene = SliceScene(layers, orientation)  # type: ignore[arg-type]
        scene.renderer.SetViewport(*cells[orientation])
        scene.renderer.SetLayer(1)
        scene.set_crosshair(position)
        scene.set_slice(int(position[scene.axes.slice_axis]))
        scene.fit(pane_aspect)
        scene.compose_pending()
        scenes.append(scene)
        window.AddRenderer(scene.renderer)
    scene3d = VolumeScene3D(layers, quality="high")
    scene3d.renderer.SetViewport(*cells["3d"])
    scene3d.renderer.SetLayer(1)
    settings = layers.settings
    scene3d.set_surfaces(lesion_surfaces(layers.lesions.labels, volume.spacing,
                                         settings.surface_smoothing_iterations))
    scene3d.reset_camera()
    window.AddRenderer(scene3d.renderer)

    window.Render()
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    w, h, _ = image.GetDimensions()
    if (w, h) != (width, height):
        raise SnapshotError(f"offscreen OpenGL gave a {w}x{h} image instead of {width}x{height}")
    rgb = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(h, w, 3)[::-1].copy()
    window.Finalize()
    return rgb


def write_snapshot(
    out: Path,
    volume: Volume,
    lungs: LungMasks | None = None,
    lesions: LesionMasks | None = None,
    size: tuple[int, int] = (1600, 1200),
    position_zyx=None,
) -> Path:
    """Render (see :func:`render_snapshot`) and write a PNG to ``out``; returns ``out``."""
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData

    rgb = render_snapshot(volume, lungs, lesions, size, position_zyx)
    out = Path(out)
    if not out.parent.is_dir():
        raise SnapshotError(f"cannot write {out}: folder {out.parent} does not exist")
    h, w, _ = rgb.shape
    image = vtkImageData()
    image.SetDimensions(w, h, 1)
    image.GetPointData().SetScalars(numpy_to_vtk(np.ascontiguousarray(rgb[::-1]).reshape(-1, 3), deep=True))
    writer = vtkPNGWriter()
    writer.SetFileName(str(out))
    writer.SetInputData(image)
    writer.Write()
    if writer.GetErrorCode() or not out.is_file():
        raise SnapshotError(f"could not write the PNG {out}")
    return out
