"""Sampling grids of the phantom, and smooth random fields defined in millimetres.

The phantom is described analytically in a patient-centred *phantom frame*: millimetres, with x to
the patient's left, y posterior and z superior (LPS axes), origin at the centre of the scanned
field. A :class:`Grid` is a regular sampling of that frame; the same anatomy sampled on the
``small`` and ``full`` grids depicts the same patient.

Random texture and lesion fields are drawn on a fixed coarse grid (:data:`COARSE_SPACING_MM`) that
does not depend on the output size, then interpolated (separable, linear) onto the output grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Grid", "SIZES", "grid_for_size", "coarse_grid", "SeparableUpsampler", "COARSE_SPACING_MM"]

#: Output sizes: shape (z, y, x) and spacing (z, y, x) in mm.
SIZES: dict[str, tuple[tuple[int, int, int], tuple[float, float, float]]] = {
    # 128 × 2.7 mm = 346 mm field of view; 80 × 3 mm = 240 mm, apex to costophrenic recesses.
    "small": ((80, 128, 128), (3.0, 2.7, 2.7)),
    # 512 × 0.7 mm = 358 mm field of view; 300 × 1 mm adds lower neck and upper abdomen.
    "full": ((300, 512, 512), (1.0, 0.7, 0.7)),
}

#: Spacing (mm) of the coarse grid that carries random fields and the anatomy look-up volume.
COARSE_SPACING_MM = 3.0
#: Half extent (z, y, x) in mm of the coarse grid; covers every output size.
COARSE_HALF_EXTENT_MM = (153.0, 183.0, 183.0)


@dataclass(frozen=True)
class Grid:
    """Regular voxel-centre grid in the phantom frame. Axis order (z, y, x), mm.

    ``z_centre`` (mm) shifts the grid along z (a scan whose coverage is cut or moved, see
    :mod:`quant.phantom.coverage`); y and x are always centred on 0.
    """

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    z_centre: float = 0.0

    def axis(self, i: int) -> NDArray[np.float32]:
        """Voxel-centre coordinates (mm) along array axis ``i`` (0 z, 1 y, 2 x), centred on 0
        (z: on ``z_centre``)."""
        n, s = self.shape[i], self.spacing[i]
        c = (np.arange(n, dtype=np.float64) - (n - 1) / 2.0) * s
        if i == 0 and self.z_centre:
            c += self.z_centre
        return c.astype(np.float32)

    @property
    def z(self) -> NDArray[np.float32]:
        return self.axis(0)

    @property
    def y(self) -> NDArray[np.float32]:
        return self.axis(1)

    @property
    def x(self) -> NDArray[np.float32]:
        return self.axis(2)

    @property
    def first_voxel_mm(self) -> tuple[float, float, float]:
        """Phantom-frame position (x, y, z) in mm of voxel (0, 0, 0)."""
        return (float(self.x[0]), float(self.y[0]), float(self.z[0]))

    def to_index(self, points_xyz: NDArray[np.floating]) -> NDArray[np.float64]:
        """Fractional (z, y, x) indices of N×3 phantom-frame (x, y, z) points in mm."""
        p = np.asarray(points_xyz, dtype=np.float64)
        out = np.empty_like(p)
        for col, axis in ((0, 2), (1, 1), (2, 0)):
            n, s = self.shape[axis], self.spacing[axis]
            shift = self.z_centre if axis == 0 else 0.0
            out[:, axis] = (p[:, col] - shift) / s + (n - 1) / 2.0
        return out

    def slabs(self, depth: int) -> Iterator[slice]:
        """Consecutive z slabs of at most ``depth`` slices."""
        for start in range(0, self.shape[0], depth):
            yield slice(start, min(start + depth, self.shape[0]))


def grid_for_size(size: str) -> Grid:
    """The output grid of a named size ("small" or "full")."""
    shape, spacing = SIZES[size]
    return Grid(shape, spacing)


def coarse_grid() -> Grid:
    """The size-independent coarse grid (:data:`COARSE_SPACING_MM`) used for random fields."""
    h = COARSE_SPACING_MM
    shape = tuple(int(round(2 * e / h)) + 1 for e in COARSE_HALF_EXTENT_MM)
    return Grid(shape, (h, h, h))  # type: ignore[arg-type]


def _lerp_index(src: NDArray[np.float32], dst: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Lower neighbour index in ``src`` and linear weight of the upper one, for each ``dst``."""
    h = float(src[1] - src[0])
    f = np.clip((dst.astype(np.float64) - float(src[0])) / h, 0, len(src) - 1.000001)
    i0 = np.floor(f).astype(np.int64)
    return i0, (f - i0).astype(np.float32)


class SeparableUpsampler:
    """Linear interpolation of coarse-grid fields onto an output grid, one output slice at a time.

    Each coarse slice is interpolated in-plane once (gather + lerp along y, then x) and cached, so a
    full pass costs a few multiply-adds per output voxel per field.
    """

    def __init__(self, coarse: Grid, fine: Grid) -> None:
        self.z0, self.zt = _lerp_index(coarse.z, fine.z)
        self.y0, yt = _lerp_index(coarse.y, fine.y)
        self.x0, xt = _lerp_index(coarse.x, fine.x)
        self.yt = yt[:, None]
        self.xt = xt[None, :]

    def _plane(self, plane: NDArray[np.float32]) -> NDArray[np.float32]:
        rows = plane[self.y0] * (1.0 - self.yt) + plane[self.y0 + 1] * self.yt
        return rows[:, self.x0] * (1.0 - self.xt) + rows[:, self.x0 + 1] * self.xt

    def slice_iter(self, field: NDArray[np.float32]) -> Iterator[NDArray[np.float32]]:
        """Yield the interpolated (ny, nx) float32 slice for each output z, in order."""
        cache: dict[int, NDArray[np.float32]] = {}
        for k in range(len(self.z0)):
            i0 = int(self.z0[k])
            for i in (i0, i0 + 1):
                if i not in cache:
                    cache[i] = self._plane(field[i])
            for old in [i for i in cache if i < i0]:
                del cache[old]
            t = self.zt[k]
            yield cache[i0] * (1.0 - t) + cache[i0 + 1] * t
