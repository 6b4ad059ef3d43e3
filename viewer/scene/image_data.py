"""Zero-copy bridges between numpy (z, y, x) arrays and ``vtkImageData``.

Viewer world space
------------------
Every VTK scene of the viewer works in one *index-aligned* world frame, in mm::

    world (x, y, z) = (i * sx, j * sy, k * sz)      for voxel index (z=k, y=j, x=i)

that is, voxel centres sit on a grid with the volume's spacing, voxel (0, 0, 0) at the world
origin, and the world axes follow the array axes (x = column, y = row, z = slice). Patient LPS
positions are never used for drawing: they come from :meth:`quant.volume.Volume.index_to_lps`
when they are shown to the user, so oblique or flipped series display exactly as stored, and the
orientation letters are derived from ``Volume.direction`` (see :mod:`viewer.scene.orientation`).

A :class:`LiveImage` wraps a numpy array that other code edits *in place* (the CT, the lung and
lesion label maps edited by :class:`quant.editing.editor.MaskEditor`). VTK reads the numpy memory
directly: an edit costs no copy, only a ``Modified()`` call, after which the slice mappers
re-extract just the one slice they show.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonDataModel import vtkImageData

__all__ = [
    "LiveImage",
    "image_from_array",
    "array_from_image",
    "bbox_of_flat_indices",
    "Box",
]

# (lo, hi) voxel index box in (z, y, x) order, hi exclusive.
Box = tuple[tuple[int, int, int], tuple[int, int, int]]


def image_from_array(
    array: NDArray, spacing_zyx: Sequence[float], origin_xyz: Sequence[float] = (0.0, 0.0, 0.0)
) -> vtkImageData:
    """Wrap a C-contiguous (z, y, x) array as a ``vtkImageData`` *without copying*.

    ``spacing_zyx`` is the voxel size in mm (z, y, x). ``origin_xyz`` is the world position in mm
    of voxel (0, 0, 0) in VTK's (x, y, z) order. The returned image keeps a reference to
    ``array``; writes into ``array`` are visible to VTK after ``Modified()``.
    """
    if array.ndim != 3:
        raise ValueError(f"expected a 3-D (z, y, x) array, got shape {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError("zero-copy wrapping needs a C-contiguous array (use np.ascontiguousarray)")
    nz, ny, nx = array.shape
    image = vtkImageData()
    image.SetDimensions(nx, ny, nz)
    image.SetSpacing(float(spacing_zyx[2]), float(spacing_zyx[1]), float(spacing_zyx[0]))
    image.SetOrigin(*(float(o) for o in origin_xyz))
    scalars = numpy_to_vtk(array.reshape(-1), deep=False)
    scalars.SetName("scalars")
    image.GetPointData().SetScalars(scalars)
    # The vtk array points into numpy memory; pin the owner on the image wrapper as well.
    image._numpy_owner = array  # type: ignore[attr-defined]
    return image


def array_from_image(image: vtkImageData) -> NDArray:
    """A (z, y, x) numpy *view* of a ``vtkImageData``'s point scalars (no copy)."""
    nx, ny, nz = image.GetDimensions()
    return vtk_to_numpy(image.GetPointData().GetScalars()).reshape(nz, ny, nx)


def bbox_of_flat_indices(indices: NDArray[np.int64], shape: tuple[int, int, int]) -> Box | None:
    """Bounding box ``((z0, y0, x0), (z1, y1, x1))`` (hi exclusive) of flat C-order indices.

    None when ``indices`` is empty.
    """
    if indices.size == 0:
        return None
    z, y, x = np.unravel_index(indices, shape)
    lo = (int(z.min()), int(y.min()), int(x.min()))
    hi = (int(z.max()) + 1, int(y.max()) + 1, int(x.max()) + 1)
    return lo, hi


class LiveImage:
    """A numpy (z, y, x) array shown by VTK without copies.

    Attributes:
        array: the wrapped array (the same object the owner edits in place).
        image: the ``vtkImageData`` whose point scalars *are* ``array``'s memory.
    """

    def __init__(self, array: NDArray, spacing_zyx: Sequence[float]) -> None:
        self.array = array
        self.image = image_from_array(array, spacing_zyx)
        self._scalars = self.image.GetPointData().GetScalars()

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.array.shape  # type: ignore[return-value]

    def mark_modified(self) -> None:
        """Tell VTK the array's values changed.

        Nothing is copied: the data already live in VTK's array. Mappers showing a slice re-read
        only that slice on their next render.
        """
        self._scalars.Modified()
        self.image.Modified()
