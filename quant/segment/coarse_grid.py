"""Coarse working grids for the segmentation: strided downsampling and block upsampling.

The lung mask is found on a grid of about 2 mm voxels (a full-resolution chest CT has ~80 M
voxels; the coarse grid ~5 M), then refined at full resolution only along air/tissue edges.
A coarse voxel ``k`` along an axis with factor ``f`` stands for the full voxels ``k*f .. k*f+f-1``
and samples the middle one, so no float copy of the volume is ever made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CoarseGrid", "coarse_grid"]


@dataclass(frozen=True)
class CoarseGrid:
    """Block decomposition of a (z, y, x) array of ``full_shape`` into ``factors``-sized blocks."""

    full_shape: tuple[int, int, int]
    factors: tuple[int, int, int]
    full_spacing: tuple[float, float, float]

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(-(-n // f) for n, f in zip(self.full_shape, self.factors))  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Coarse voxel size in mm (z, y, x)."""
        return tuple(s * f for s, f in zip(self.full_spacing, self.factors))  # type: ignore[return-value]

    @property
    def is_identity(self) -> bool:
        return self.factors == (1, 1, 1)

    def sample(self, full: NDArray) -> NDArray:
        """Coarse array: the middle voxel of every block (a view-free copy, same dtype)."""
        if self.is_identity:
            return full
        idx = [
            np.minimum(np.arange(c) * f + f // 2, n - 1)
            for c, f, n in zip(self.shape, self.factors, self.full_shape)
        ]
        return full[np.ix_(*idx)]

    def upsample(self, coarse: NDArray) -> NDArray:
        """Full-shape C-contiguous array with every block filled with its coarse value (nearest).

        The x repeat happens on the small array; z and y are then filled by ``fz*fy`` strided
        copies of whole rows, which is several times faster than chained ``np.repeat``.
        """
        if self.is_identity:
            return coarse
        fz, fy, fx = self.factors
        nz, ny, nx = self.full_shape
        rows = np.repeat(coarse, fx, axis=2)[:, :, :nx] if fx > 1 else coarse[:, :, :nx]
        out = np.empty(self.full_shape, dtype=coarse.dtype)
        for dz in range(fz):
            for dy in range(fy):
                target = out[dz::fz, dy::fy]
                target[...] = rows[: target.shape[0], : target.shape[1]]
        return out

    def block_mean(self, full: NDArray) -> NDArray[np.float32]:
        """Coarse float32 array: the mean of every block (edge blocks repeat their last voxels).

        Sums strided views in int32, slab by slab along z, so temporaries stay small and no
        float copy of the full array is made.
        """
        if self.is_identity:
            return full.astype(np.float32)
        fz, fy, fx = self.factors
        cz, cy, cx = self.shape
        pad_y, pad_x = cy * fy - self.full_shape[1], cx * fx - self.full_shape[2]
        out = np.empty((cz, cy, cx), dtype=np.float32)
        scale = np.float32(1.0 / (fz * fy * fx))
        depth = fz * 16
        for k0 in range(0, cz * fz, depth):
            slab = full[k0 : k0 + depth]
            n = slab.shape[0]
            if pad_x or pad_y or n % fz:
                slab = np.pad(slab, ((0, (-n) % fz), (0, pad_y), (0, pad_x)), mode="edge")
            acc = slab[:, :, 0::fx].astype(np.int32)
            for i in range(1, fx):
                acc += slab[:, :, i::fx]
            acc_y = acc[:, 0::fy].copy()
            for i in range(1, fy):
                acc_y += acc[:, i::fy]
            acc_z = acc_y[0::fz].copy()
            for i in range(1, fz):
                acc_z += acc_y[i::fz]
            out[k0 // fz : k0 // fz + acc_z.shape[0]] = acc_z * scale
        return out

    def block_indices(self, coarse_flat: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Full flat indices of all voxels of the given coarse blocks.

        Returns ``(full_flat, owner)`` where ``owner[i]`` is the position in ``coarse_flat`` of the
        block that ``full_flat[i]`` belongs to. Blocks cut by the array edge yield fewer voxels.
        """
        cz, cy, cx = np.unravel_index(coarse_flat, self.shape)
        fz, fy, fx = self.factors
        oz, oy, ox = np.meshgrid(np.arange(fz), np.arange(fy), np.arange(fx), indexing="ij")
        z = cz[:, None] * fz + oz.reshape(1, -1)
        y = cy[:, None] * fy + oy.reshape(1, -1)
        x = cx[:, None] * fx + ox.reshape(1, -1)
        nz, ny, nx = self.full_shape
        ok = (z < nz) & (y < ny) & (x < nx)
        owner = np.broadcast_to(np.arange(coarse_flat.size)[:, None], ok.shape)[ok]
        full = (z[ok] * ny + y[ok]) * nx + x[ok]
        return full.astype(np.int64), owner


def coarse_grid(shape: tuple[int, int, int], spacing: tuple[float, float, float], target_mm: float) -> CoarseGrid:
    """Grid with integer factors so that coarse voxels are about ``target_mm`` wide (never finer
    than the input)."""
    factors = tuple(max(1, int(round(target_mm / s))) for s in spacing)
    return CoarseGrid(tuple(shape), factors, tuple(spacing))  # type: ignore[arg-type]
