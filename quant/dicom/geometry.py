"""Slice geometry of a DICOM series: ordering, spacing checks and orientation canonicalisation.

Slices are ordered by ImagePositionPatient projected on the slice normal (the cross product of the
two ImageOrientationPatient directions). InstanceNumber and SliceLocation are never used: scanners
and anonymisers get them wrong. The slice spacing comes from the positions, never from
SliceThickness (which is the reconstructed slab thickness, not the distance between slices).

Conventions: positions in mm, LPS. "xyz" index order means (column, row, slice) as in ITK/VTK;
arrays are (z, y, x).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.dicom.errors import (
    DuplicateSliceError,
    GantryTiltError,
    InconsistentSeriesError,
    InvalidTagError,
    MissingGeometryError,
    MissingSlicesError,
    NonUniformSpacingError,
    TooFewSlicesError,
)
from quant.dicom.header import SliceHeader
from quant.volume import Volume

__all__ = [
    "SliceStack",
    "orientation_vectors",
    "same_orientation",
    "orientation_name",
    "stack_slices",
    "canonical_plan",
    "canonicalise",
]

ORIENTATION_TOL = 1e-3  # max difference between IOP cosines treated as the same orientation
DUPLICATE_TOL_MM = 1e-3
GAP_FACTOR = 1.5  # a step larger than this times the median step means missing slices
TILT_TOL_DEG = 0.1


@dataclass(frozen=True)
class SliceStack:
    """A validated, ordered stack of slices.

    ``order`` lists indices into the header sequence from the most negative to the most positive
    position along ``normal``; ``direction`` has columns (row_dir, col_dir, normal), i.e. the LPS
    directions of the column (x), row (y) and slice (z) index axes; ``spacing`` is (z, y, x) mm;
    ``origin`` is the LPS centre of the first pixel of the first slice.
    """

    order: tuple[int, ...]
    direction: NDArray[np.float64]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]


def orientation_vectors(iop: Sequence[float], where: str) -> NDArray[np.float64]:
    """3×3 matrix with columns row_dir, col_dir, normal from an ImageOrientationPatient value.

    The two directions are normalised and the column direction re-orthogonalised, so that the
    result is a proper rotation despite the rounding of DS text values.
    """
    v = np.asarray(iop, dtype=np.float64)
    row, col = v[:3], v[3:]
    nr, nc = np.linalg.norm(row), np.linalg.norm(col)
    if nr < 0.5 or nc < 0.5 or abs(nr - 1) > 0.01 or abs(nc - 1) > 0.01:
        raise InvalidTagError(f"{where}: ImageOrientationPatient {list(iop)} is not two unit vectors")
    row, col = row / nr, col / nc
    if abs(np.dot(row, col)) > 0.01:
        raise InvalidTagError(
            f"{where}: ImageOrientationPatient {list(iop)} row and column directions are not perpendicular"
        )
    col = col - np.dot(row, col) * row
    col /= np.linalg.norm(col)
    normal = np.cross(row, col)
    return np.column_stack([row, col, normal])


def same_orientation(a: Sequence[float] | None, b: Sequence[float] | None) -> bool:
    """True when two ImageOrientationPatient values agree within :data:`ORIENTATION_TOL`."""
    if a is None or b is None:
        return a is None and b is None
    return bool(np.max(np.abs(np.subtract(a, b))) <= ORIENTATION_TOL)


def orientation_name(iop: Sequence[float] | None) -> str:
    """"axial", "coronal", "sagittal", "oblique" (more than 10 degrees off) or "unknown"."""
    if iop is None:
        return "unknown"
    try:
        normal = orientation_vectors(iop, "")[:, 2]
    except InvalidTagError:
        return "unknown"
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) < math.cos(math.radians(10)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _fmt(p: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in p) + ")"


def stack_slices(headers: Sequence[SliceHeader], series: str) -> SliceStack:
    """Order ``headers`` along the slice normal and check that they form a regular volume.

    Args:
        headers: one header per slice, all of one sub-series (same orientation and size).
        series: how to name the series in messages (de-identified).

    Raises:
        MissingGeometryError, InconsistentSeriesError, TooFewSlicesError, DuplicateSliceError,
        GantryTiltError, MissingSlicesError, NonUniformSpacingError.
    """
    if len(headers) < 2:
        where = headers[0].path if headers else series
        raise TooFewSlicesError(
            f"{where}: series {series} has only {len(headers)} slice; a CT volume needs at least 2"
        )
    for h in headers:
        missing = [
            name
            for name, value in (
                ("ImagePositionPatient", h.ipp),
                ("ImageOrientationPatient", h.iop),
                ("PixelSpacing", h.pixel_spacing),
            )
            if value is None
        ]
        if missing:
            raise MissingGeometryError(
                f"{h.path}: no {', '.join(missing)}; the slice cannot be placed in the patient"
            )
    first = headers[0]
    for h in headers[1:]:
        if not same_orientation(h.iop, first.iop):
            raise InconsistentSeriesError(
                f"series {series}: slice orientation differs between {first.path.name} "
                f"{list(first.iop or ())} and {h.path.name} {list(h.iop or ())}"
            )
        if (h.rows, h.columns) != (first.rows, first.columns):
            raise InconsistentSeriesError(
                f"series {series}: image size differs between {first.path.name} "
                f"({first.rows}x{first.columns}) and {h.path.name} ({h.rows}x{h.columns})"
            )
        if not np.allclose(h.pixel_spacing, first.pixel_spacing, rtol=1e-4, atol=1e-5):  # type: ignore[arg-type]
            raise InconsistentSeriesError(
                f"series {series}: PixelSpacing differs between {first.path.name} "
                f"{list(first.pixel_spacing or ())} and {h.path.name} {list(h.pixel_spacing or ())}"
            )
    row_sp, col_sp = first.pixel_spacing  # type: ignore[misc]
    if row_sp <= 0 or col_sp <= 0:
        raise InvalidTagError(f"{first.path}: PixelSpacing {[row_sp, col_sp]} must be positive")

    direction = orientation_vectors(first.iop, str(first.path))  # type: ignore[arg-type]
    normal = direction[:, 2]
    ipp = np.array([h.ipp for h in headers], dtype=np.float64)
    proj = ipp @ normal
    order = np.argsort(proj, kind="stable")
    proj, ipp = proj[order], ipp[order]
    names = [headers[i].path.name for i in order]
    steps = np.diff(proj)

    dup = np.flatnonzero(steps < DUPLICATE_TOL_MM)
    if dup.size:
        i = int(dup[0])
        raise DuplicateSliceError(
            f"series {series}: {dup.size} duplicate slice position(s), e.g. {names[i]} and "
            f"{names[i + 1]} both at {_fmt(ipp[i])} mm; the series may mix two acquisitions"
        )

    # Positions must run along the normal; in-plane drift means the gantry was tilted.
    along = (proj - proj[0])[:, None] * normal[None, :]
    drift = np.linalg.norm(ipp - ipp[0] - along, axis=1)
    span = proj[-1] - proj[0]
    tilt = math.degrees(math.atan2(float(drift.max()), float(span)))
    if drift.max() > 0.01 and tilt > TILT_TOL_DEG:
        worst = int(np.argmax(drift))
        raise GantryTiltError(
            f"series {series}: slice positions are not along the slice normal (gantry tilt of about "
            f"{tilt:.1f} degrees; {names[worst]} at {_fmt(ipp[worst])} mm is {drift[worst]:.2f} mm "
            "off-axis). Tilted acquisitions are not supported: export a tilt-corrected series"
        )

    median = float(np.median(steps))
    gaps = np.flatnonzero(steps > GAP_FACTOR * median)
    if gaps.size:
        parts = [
            f"{steps[i]:.2f} mm between {_fmt(ipp[i])} ({names[i]}) and {_fmt(ipp[i + 1])} "
            f"({names[i + 1]}), about {round(steps[i] / median) - 1} slice(s) missing"
            for i in gaps[:5]
        ]
        more = f" and {gaps.size - 5} more" if gaps.size > 5 else ""
        raise MissingSlicesError(
            f"series {series}: missing slices (usual spacing {median:.2f} mm): "
            + "; ".join(parts)
            + more
        )
    tol = max(0.01, 0.02 * median)
    uneven = np.flatnonzero(np.abs(steps - median) > tol)
    if uneven.size:
        parts = [
            f"{steps[i]:.3f} mm between {_fmt(ipp[i])} and {_fmt(ipp[i + 1])}" for i in uneven[:5]
        ]
        raise NonUniformSpacingError(
            f"series {series}: uneven slice spacing (usual {median:.3f} mm): " + "; ".join(parts)
        )
    spacing_z = float(span / (len(headers) - 1))
    return SliceStack(
        order=tuple(int(i) for i in order),
        direction=direction,
        spacing=(spacing_z, float(row_sp), float(col_sp)),
        origin=tuple(float(v) for v in ipp[0]),  # type: ignore[arg-type]
    )


def canonical_plan(direction: NDArray[np.float64]) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The axis permutation and flips that bring ``direction`` nearest to the identity.

    Returns (perm, signs) in xyz index order: new axis j is old axis ``perm[j]``, reversed when
    ``signs[j]`` is -1. Only permutations and flips are used, so voxels are never resampled.
    """
    best = max(
        itertools.permutations(range(3)),
        key=lambda p: sum(abs(direction[j, p[j]]) for j in range(3)),
    )
    signs = tuple(1 if direction[j, best[j]] >= 0 else -1 for j in range(3))
    return best, signs  # type: ignore[return-value]


def canonicalise(
    hu: NDArray[np.int16],
    spacing: tuple[float, float, float],
    origin: Sequence[float],
    direction: NDArray[np.float64],
) -> Volume:
    """Volume with the same voxels re-indexed so that its direction is nearest the identity.

    ``hu`` is (z, y, x) in the frame of ``direction`` (columns x, y, z). The result has index
    axes along +L, +P, +S as closely as the acquisition allows (z = most inferior first). The
    array is copied only when axes actually move.
    """
    perm, signs = canonical_plan(direction)
    if perm == (0, 1, 2) and signs == (1, 1, 1):
        return Volume(hu=hu, spacing=spacing, origin=tuple(origin), direction=direction)
    shape_xyz = hu.shape[::-1]
    spacing_xyz = spacing[::-1]
    corner = np.array(
        [0 if signs[j] > 0 else shape_xyz[perm[j]] - 1 for j in range(3)], dtype=np.float64
    )
    old_corner = np.zeros(3)
    for j in range(3):
        old_corner[perm[j]] = corner[j]
    new_origin = np.asarray(origin, dtype=np.float64) + direction @ (old_corner * np.asarray(spacing_xyz))
    new_direction = np.column_stack([signs[j] * direction[:, perm[j]] for j in range(3)])
    new_spacing_xyz = tuple(spacing_xyz[perm[j]] for j in range(3))

    arr_xyz = hu.transpose(2, 1, 0).transpose(perm)
    flips = tuple(slice(None, None, -1) if s < 0 else slice(None) for s in signs)
    arr_xyz = arr_xyz[flips]
    new_hu = np.ascontiguousarray(arr_xyz.transpose(2, 1, 0))
    return Volume(
        hu=new_hu,
        spacing=new_spacing_xyz[::-1],  # type: ignore[arg-type]
        origin=tuple(new_origin),  # type: ignore[arg-type]
        direction=new_direction,
    )
