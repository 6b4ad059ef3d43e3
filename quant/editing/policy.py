"""What painting or clearing does to each voxel: the overwrite policy and the lung restriction.

These turn a set of candidate voxels (flat C-order (z, y, x) indices, from a brush, grow or fill)
into the :class:`~quant.labels.VoxelChange` that actually applies, reading the current labels.
Voxels that would not change are left out, so an empty change means "nothing to do".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.editing.errors import EditingError
from quant.labels import GGO, SOLID, LabelTarget, VoxelChange

__all__ = ["OverwritePolicy", "paint_change", "clear_change", "set_change", "check_hu_range"]


@dataclass(frozen=True)
class OverwritePolicy:
    """Which lesion label may replace the other, and whether lesions must lie inside the lungs.

    Attributes:
        solid_overwrites_ggo: painting solid turns ground-glass voxels solid (default True: a
            consolidation inside a ground-glass area is the common correction).
        ggo_overwrites_solid: painting ground-glass turns solid voxels ground-glass (default
            False, so a careless GGO stroke does not erase solid components).
        restrict_to_lungs: lesion voxels are only added where the lung label is non-zero.
    """

    solid_overwrites_ggo: bool = True
    ggo_overwrites_solid: bool = False
    restrict_to_lungs: bool = True


def paint_change(
    lesion_flat: NDArray[np.uint8],
    lung_flat: NDArray[np.uint8],
    candidates: NDArray[np.int64],
    value: int,
    policy: OverwritePolicy,
) -> VoxelChange:
    """Set lesion ``value`` (GGO or SOLID) at ``candidates`` where ``policy`` allows it."""
    cur = lesion_flat[candidates]
    ok = cur != value
    if value == GGO and not policy.ggo_overwrites_solid:
        ok &= cur != SOLID
    elif value == SOLID and not policy.solid_overwrites_ggo:
        ok &= cur != GGO
    if policy.restrict_to_lungs:
        ok &= lung_flat[candidates] > 0
    idx = candidates[ok]
    return VoxelChange("lesion", idx, cur[ok], np.full(idx.size, value, dtype=np.uint8))


def clear_change(
    target: LabelTarget,
    flat: NDArray[np.uint8],
    candidates: NDArray[np.int64],
    only: int | None = None,
) -> VoxelChange:
    """Set ``target`` labels to 0 at ``candidates`` (only where they equal ``only``, if given)."""
    cur = flat[candidates]
    ok = cur > 0 if only is None else cur == only
    idx = candidates[ok]
    return VoxelChange(target, idx, cur[ok], np.zeros(idx.size, dtype=np.uint8))


def set_change(
    target: LabelTarget,
    flat: NDArray[np.uint8],
    candidates: NDArray[np.int64],
    value: int,
    only_where: int = 0,
) -> VoxelChange:
    """Set ``target`` labels to ``value`` at ``candidates`` that currently equal ``only_where``."""
    cur = flat[candidates]
    idx = candidates[cur == only_where]
    return VoxelChange(
        target, idx, np.full(idx.size, only_where, dtype=np.uint8), np.full(idx.size, value, dtype=np.uint8)
    )


def check_hu_range(hu_range: tuple[float, float] | None) -> tuple[float, float] | None:
    """Validate an inclusive (low, high) HU range (None: no range) and return it as floats."""
    if hu_range is None:
        return None
    lo, hi = float(hu_range[0]), float(hu_range[1])
    if lo > hi:
        raise EditingError(f"HU range must be (low, high), got {hu_range!r}")
    return lo, hi
