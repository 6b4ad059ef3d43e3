"""Smooth lesion and lung surfaces from label maps (vtkSurfaceNets3D + light smoothing).

Pure functions over numpy arrays, safe to run in a worker thread: they build their own VTK
pipeline, read only the array they are given, and return new ``vtkPolyData`` in the viewer's
index-aligned world frame (mm, see :mod:`viewer.scene.image_data`). VTK releases the GIL while its
filters run, so the GUI thread keeps painting meanwhile.

Surface nets work on the label grid directly (no marching-cubes staircase, no decimation pass)
and smooth with a constrained relaxation, the route 3D Slicer took for 7-17x faster updates.
Only the bounding box of the nonzero voxels is processed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from vtkmodules.util.numpy_support import numpy_to_vtk
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkPolyDataNormals, vtkSurfaceNets3D

from quant.labels import SOLID

__all__ = ["LesionSurfaces", "label_surface", "lesion_surfaces"]


@dataclass
class LesionSurfaces:
    """Surfaces of one label state: all lesion (GGO + solid) and the solid part, world mm."""

    lesion: vtkPolyData
    solid: vtkPolyData


def _bbox(mask: NDArray[np.bool_]) -> tuple[slice, slice, slice] | None:
    slices = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(np.any(mask, axis=other))
        if hit.size == 0:
            return None
        lo = max(int(hit[0]) - 1, 0)
        hi = min(int(hit[-1]) + 2, mask.shape[axis])
        slices.append(slice(lo, hi))
    return tuple(slices)  # type: ignore[return-value]


def label_surface(
    mask: NDArray[np.bool_], spacing_zyx: Sequence[float], smoothing_iterations: int = 12
) -> vtkPolyData:
    """Smoothed boundary surface of a boolean (z, y, x) mask, in world mm; empty if no voxel."""
    box = _bbox(mask)
    if box is None:
        return vtkPolyData()
    # One voxel of zero padding on every side closes surfaces at the volume edge.
    sub = np.zeros(tuple(s.stop - s.start + 2 for s in box), np.uint8)
    sub[1:-1, 1:-1, 1:-1] = mask[box]
    nz, ny, nx = sub.shape
    sz, sy, sx = (float(s) for s in spacing_zyx)
    image = vtkImageData()
    image.SetDimensions(nx, ny, nz)
    image.SetSpacing(sx, sy, sz)
    image.SetOrigin((box[2].start - 1) * sx, (box[1].start - 1) * sy, (box[0].start - 1) * sz)
    image.GetPointData().SetScalars(numpy_to_vtk(sub.reshape(-1), deep=True))
    nets = vtkSurfaceNets3D()
    nets.SetInputData(image)
    nets.SetLabel(0, 1)
    nets.SetBackgroundLabel(0)
    nets.SetOutputMeshTypeToTriangles()
    if smoothing_iterations > 0:
        nets.SmoothingOn()
        nets.SetNumberOfIterations(int(smoothing_iterations))
        nets.SetRelaxationFactor(0.5)
        nets.SetConstraintScale(2.0)
    else:
        nets.SmoothingOff()
    normals = vtkPolyDataNormals()
    normals.SetInputConnection(nets.GetOutputPort())
    normals.SplittingOff()
    normals.ConsistencyOn()
    normals.AutoOrientNormalsOff()
    normals.Update()
    out = vtkPolyData()
    out.ShallowCopy(normals.GetOutput())
    return out


def lesion_surfaces(
    lesion_labels: NDArray[np.uint8], spacing_zyx: Sequence[float], smoothing_iterations: int = 12
) -> LesionSurfaces:
    """Surfaces of all lesion voxels and of the solid voxels of a (z, y, x) lesion label map."""
    return LesionSurfaces(
        lesion=label_surface(lesion_labels > 0, spacing_zyx, smoothing_iterations),
        solid=label_surface(lesion_labels == SOLID, spacing_zyx, smoothing_iterations),
    )
