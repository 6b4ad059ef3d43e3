"""CT volume with patient geometry.

A :class:`Volume` is the one in-memory image type of LungRead. Array axis order is always
``(z, y, x)`` (slice, row, column), and patient coordinates are DICOM LPS in millimetres.
Masks are plain boolean/uint8 arrays with the same shape and geometry as the volume they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Volume"]


def _as_points(points: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"expected an N×3 array of points, got shape {arr.shape}")
    return arr


@dataclass(eq=False)
class Volume:
    """A CT image in Hounsfield units with its geometry.

    Attributes:
        hu: int16 array, axis order (z, y, x), values in HU.
        spacing: voxel size in mm, order (z, y, x).
        origin: LPS position in mm of the centre of voxel (0, 0, 0).
        direction: 3×3 matrix whose *columns* are the LPS unit vectors of the x (column),
            y (row) and z (slice) index axes, in that order, as in ITK/VTK.
    """

    hu: NDArray[np.int16]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: NDArray[np.float64] = field(default_factory=lambda: np.eye(3))

    def __post_init__(self) -> None:
        if self.hu.ndim != 3:
            raise ValueError(f"a volume is 3-D (z, y, x); got shape {self.hu.shape}")
        if self.hu.dtype != np.int16:
            raise ValueError(f"volume HU must be int16, got {self.hu.dtype}")
        self.spacing = tuple(float(s) for s in self.spacing)  # type: ignore[assignment]
        if len(self.spacing) != 3 or min(self.spacing) <= 0:
            raise ValueError(f"spacing must be three positive mm values, got {self.spacing}")
        self.origin = tuple(float(o) for o in self.origin)  # type: ignore[assignment]
        self.direction = np.asarray(self.direction, dtype=np.float64).reshape(3, 3)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Array shape (z, y, x)."""
        return self.hu.shape  # type: ignore[return-value]

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL (1 mL = 1000 mm³)."""
        sz, sy, sx = self.spacing
        return sz * sy * sx / 1000.0

    @property
    def affine_lps(self) -> NDArray[np.float64]:
        """4×4 matrix mapping homogeneous (x, y, z) *index* coordinates to LPS mm."""
        sz, sy, sx = self.spacing
        m = np.eye(4)
        m[:3, :3] = self.direction @ np.diag([sx, sy, sz])
        m[:3, 3] = self.origin
        return m

    def index_to_lps(self, points_zyx: ArrayLike) -> NDArray[np.float64]:
        """Map N×3 (z, y, x) voxel indices (fractional allowed) to N×3 LPS positions in mm."""
        p = _as_points(points_zyx)[:, ::-1]  # -> (x, y, z)
        sz, sy, sx = self.spacing
        return (p * np.array([sx, sy, sz])) @ self.direction.T + np.asarray(self.origin)

    def lps_to_index(self, points_lps: ArrayLike) -> NDArray[np.float64]:
        """Map N×3 LPS positions in mm to fractional N×3 (z, y, x) voxel indices."""
        p = _as_points(points_lps) - np.asarray(self.origin)
        sz, sy, sx = self.spacing
        xyz = (p @ np.linalg.inv(self.direction).T) / np.array([sx, sy, sz])
        return xyz[:, ::-1]

    def empty_mask(self) -> NDArray[np.bool_]:
        """A boolean all-false mask with this volume's shape."""
        return np.zeros(self.shape, dtype=bool)

    def same_geometry(self, other: "Volume", atol: float = 1e-3) -> bool:
        """True when shape, spacing, origin and direction agree (mm tolerance ``atol``)."""
        return (
            self.shape == other.shape
            and np.allclose(self.spacing, other.spacing, atol=atol)
            and np.allclose(self.origin, other.origin, atol=atol)
            and np.allclose(self.direction, other.direction, atol=1e-6)
        )
