"""Brush geometry: which voxels a round brush covers, in mm, on anisotropic grids.

Points are fractional ``(z, y, x)`` voxel indices (voxel centres at integers); radii are in mm and
distances are measured in mm using the volume spacing ``(z, y, x)``, so a sphere on a
0.7 x 0.7 x 1.0 mm grid is round in the patient, not in the array.

Two shapes:

* ``"disk"``: a disk in the plane perpendicular to array axis ``axis`` (0 axial, 1 coronal,
  2 sagittal), on the slice the point rounds to;
* ``"sphere"``: a ball in 3-D.

A stroke segment between two mouse positions covers every voxel within the radius of the *line
segment* between them (a capsule), i.e. the union of the brush placed at every point of the
segment. That is what makes fast strokes gap-free: the result does not depend on how far apart the
mouse events were. The voxels the segment itself passes through are always included, so even a
brush smaller than a voxel draws a connected line.

Work is confined to bounding boxes around the segment (long segments are split into pieces with
their own boxes), so the cost is proportional to the brushed area, never to the volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant.editing.errors import EditingError
from quant.voxel_box import EMPTY_INDICES, flat_indices

__all__ = ["BrushShape", "brush_offsets", "stroke_footprint", "round_index", "check_brush", "EPS_MM2"]

BrushShape = Literal["disk", "sphere"]

#: Tolerance (mm²) on the radius test, so voxels lying exactly on the brush edge (common with
#: round radii and spacings) are inside regardless of floating-point rounding.
EPS_MM2 = 1e-6


def round_index(point: ArrayLike) -> NDArray[np.int64]:
    """Voxel index containing a fractional (z, y, x) point (halves round up, not to even)."""
    return np.floor(np.asarray(point, dtype=np.float64) + 0.5).astype(np.int64)


def check_brush(radius_mm: float, spacing: Sequence[float], shape: str, axis: int) -> None:
    """Raise :class:`EditingError` unless the radius (mm), spacing, shape and axis are usable."""
    if not radius_mm > 0:
        raise EditingError(f"brush radius must be a positive number of mm, got {radius_mm!r}")
    if shape not in ("disk", "sphere"):
        raise EditingError(f"brush shape must be 'disk' or 'sphere', got {shape!r}")
    if axis not in (0, 1, 2):
        raise EditingError(f"brush axis must be 0 (z), 1 (y) or 2 (x), got {axis!r}")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise EditingError(f"spacing must be three positive mm values, got {spacing!r}")


@lru_cache(maxsize=64)
def _offsets_cached(
    radius_mm: float, spacing: tuple[float, float, float], shape: str, axis: int
) -> NDArray[np.int64]:
    s = np.asarray(spacing, dtype=np.float64)
    ext = np.floor(radius_mm / s).astype(np.int64)
    if shape == "disk":
        ext[axis] = 0
    grids = np.meshgrid(*[np.arange(-e, e + 1) for e in ext], indexing="ij")
    d2 = sum((g * si) ** 2 for g, si in zip(grids, s))
    inside = d2 <= radius_mm * radius_mm + EPS_MM2
    offs = np.stack([g[inside] for g in grids], axis=1).astype(np.int64)
    offs.setflags(write=False)
    return offs


def brush_offsets(
    radius_mm: float,
    spacing: Sequence[float],
    shape: BrushShape = "sphere",
    axis: int = 0,
) -> NDArray[np.int64]:
    """Integer (dz, dy, dx) offsets of a brush centred on a voxel centre.

    A voxel is inside when its centre is within ``radius_mm`` (mm, spacing-aware) of the brush
    centre. For ``"disk"`` the offset along ``axis`` is always 0. The result is read-only and
    cached (viewers may draw the brush outline from it).

    Returns:
        (N, 3) int64 array of offsets in (z, y, x) order.
    """
    check_brush(radius_mm, spacing, shape, axis)
    return _offsets_cached(float(radius_mm), tuple(float(v) for v in spacing), shape, int(axis))


def _capsule(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    radius_mm: float,
    s: NDArray[np.float64],
    vol_shape: tuple[int, int, int],
) -> NDArray[np.int64]:
    """Flat indices of voxels within ``radius_mm`` of segment a-b; axes with s == 0 are ignored
    in the distance and have a one-voxel extent (the disk case)."""
    ext = np.where(s > 0, radius_mm / np.where(s > 0, s, 1.0), 0.0)
    lo = np.maximum(np.floor(np.minimum(a, b) - ext).astype(np.int64), 0)
    hi = np.minimum(np.ceil(np.maximum(a, b) + ext).astype(np.int64), np.asarray(vol_shape) - 1)
    if np.any(hi < lo):
        return EMPTY_INDICES
    cz = ((np.arange(lo[0], hi[0] + 1) - a[0]) * s[0])[:, None, None]
    cy = ((np.arange(lo[1], hi[1] + 1) - a[1]) * s[1])[None, :, None]
    cx = ((np.arange(lo[2], hi[2] + 1) - a[2]) * s[2])[None, None, :]
    d = (b - a) * s
    length2 = float(d @ d)
    if length2 > 0.0:
        # Parameter of the closest point on the segment, clamped to the end caps.
        t = (cz * d[0] + cy * d[1] + cx * d[2]) / length2
        np.clip(t, 0.0, 1.0, out=t)
        d2 = (cz - t * d[0]) ** 2 + (cy - t * d[1]) ** 2 + (cx - t * d[2]) ** 2
    else:
        d2 = cz**2 + cy**2 + cx**2
    return flat_indices(d2 <= radius_mm * radius_mm + EPS_MM2, lo, vol_shape)


def _line_voxels(
    a: NDArray[np.float64], b: NDArray[np.float64], vol_shape: tuple[int, int, int]
) -> NDArray[np.int64]:
    """Flat indices of the voxels the segment passes through (26-connected chain).

    Sampling at most half a voxel apart along every axis makes consecutive rounded samples
    differ by at most one index per axis.
    """
    n = int(np.ceil(np.max(np.abs(b - a)) * 2.0)) + 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    idx = round_index(a + (b - a) * t)
    ok = np.all((idx >= 0) & (idx < np.asarray(vol_shape)), axis=1)
    idx = idx[ok]
    if idx.size == 0:
        return EMPTY_INDICES
    return np.ravel_multi_index(idx.T, vol_shape).astype(np.int64)


def _split_by_slice(
    a: NDArray[np.float64], b: NDArray[np.float64], axis: int
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Cut a segment where it crosses slice boundaries along ``axis`` and snap every piece onto
    the slice it lies in (a disk brush paints only the slice under the point)."""
    u0, u1 = float(a[axis]), float(b[axis])
    k0, k1 = int(round_index(u0)), int(round_index(u1))
    if k0 == k1:
        a2, b2 = a.copy(), b.copy()
        a2[axis] = b2[axis] = k0
        return [(a2, b2)]
    lo, hi = min(k0, k1), max(k0, k1)
    cuts = sorted((k + 0.5 - u0) / (u1 - u0) for k in range(lo, hi))
    ts = [0.0, *cuts, 1.0]
    pieces = []
    for t0, t1 in zip(ts[:-1], ts[1:]):
        pa, pb = a + (b - a) * t0, a + (b - a) * t1
        k = int(round_index(u0 + (u1 - u0) * (t0 + t1) / 2.0))
        pa[axis] = pb[axis] = k
        pieces.append((pa, pb))
    return pieces


def _split_long(
    a: NDArray[np.float64], b: NDArray[np.float64], s: NDArray[np.float64], max_len_mm: float
) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Split a segment into pieces at most ``max_len_mm`` long, so that each piece's bounding
    box stays small (a long diagonal stroke would otherwise scan a huge box)."""
    length = float(np.linalg.norm((b - a) * s))
    n = max(1, int(np.ceil(length / max_len_mm)))
    if n == 1:
        return [(a, b)]
    ts = np.linspace(0.0, 1.0, n + 1)
    return [(a + (b - a) * t0, a + (b - a) * t1) for t0, t1 in zip(ts[:-1], ts[1:])]


def stroke_footprint(
    p0: ArrayLike,
    p1: ArrayLike | None,
    radius_mm: float,
    spacing: Sequence[float],
    vol_shape: Sequence[int],
    shape: BrushShape = "disk",
    axis: int = 0,
) -> NDArray[np.int64]:
    """Voxels covered by moving the brush from ``p0`` to ``p1`` (or placing it at ``p0``).

    Args:
        p0, p1: fractional (z, y, x) voxel positions; ``p1=None`` means a single dab at ``p0``.
        radius_mm: brush radius in mm.
        spacing: voxel size (z, y, x) in mm.
        vol_shape: (z, y, x) shape of the volume; voxels outside it are dropped.
        shape: ``"disk"`` (in the plane perpendicular to ``axis``) or ``"sphere"``.
        axis: array axis normal to the disk (ignored for spheres).

    Returns:
        Sorted unique int64 flat indices into the (z, y, x) volume.
    """
    check_brush(radius_mm, spacing, shape, axis)
    a = np.asarray(p0, dtype=np.float64).reshape(3)
    b = a.copy() if p1 is None else np.asarray(p1, dtype=np.float64).reshape(3)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise EditingError(f"brush positions must be finite, got {a} and {b}")
    vshape = (int(vol_shape[0]), int(vol_shape[1]), int(vol_shape[2]))
    s = np.asarray(spacing, dtype=np.float64).copy()
    if shape == "disk":
        s[axis] = 0.0  # the slice axis plays no part in the in-plane distance
        pieces = _split_by_slice(a, b, axis)
    else:
        pieces = [(a, b)]
    max_len = max(2.0 * radius_mm, 4.0 * float(np.min(s[s > 0])))
    # A voxel holding a point of the segment has its centre within half its diagonal of that
    # point, so a brush at least that big already covers the line voxels.
    covers_line = radius_mm * radius_mm >= float(np.sum((s / 2.0) ** 2))
    parts = []
    for pa, pb in pieces:
        for qa, qb in _split_long(pa, pb, s, max_len):
            parts.append(_capsule(qa, qb, radius_mm, s, vshape))
        if not covers_line:
            parts.append(_line_voxels(pa, pb, vshape))
    if len(parts) == 1:
        return parts[0]  # already sorted and unique (one box scanned in C order)
    return np.unique(np.concatenate(parts))
