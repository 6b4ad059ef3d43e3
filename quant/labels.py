"""Label maps shared by segmentation, editing, metrics, storage and display.

Two uint8 label maps, both with the CT volume's shape and axis order (z, y, x):

* lung labels: ``0`` outside, ``RIGHT_LUNG`` (1), ``LEFT_LUNG`` (2). "Left" is the patient's left,
  i.e. +x in LPS; with an identity direction that is the *high* x index (the image's right side
  in radiological display).
* lesion labels: ``0`` none, ``GGO`` (1, ground-glass), ``SOLID`` (2, solid/consolidation).
  A voxel is one or the other, so the overwrite policy between them is explicit.

A :class:`VoxelChange` describes an edit as sparse flat indices plus old and new values: it is the
unit of undo/redo history and of incremental metric updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "RIGHT_LUNG",
    "LEFT_LUNG",
    "GGO",
    "SOLID",
    "LungMasks",
    "LesionMasks",
    "VoxelChange",
    "LabelTarget",
]

RIGHT_LUNG = 1
LEFT_LUNG = 2
GGO = 1
SOLID = 2

LabelTarget = Literal["lung", "lesion"]


@dataclass(eq=False)
class LungMasks:
    """Left/right lung label map (uint8, z/y/x): 0 outside, 1 right lung, 2 left lung."""

    labels: NDArray[np.uint8]

    @property
    def right(self) -> NDArray[np.bool_]:
        return self.labels == RIGHT_LUNG

    @property
    def left(self) -> NDArray[np.bool_]:
        return self.labels == LEFT_LUNG

    @property
    def both(self) -> NDArray[np.bool_]:
        return self.labels > 0

    @classmethod
    def from_masks(cls, right: NDArray[np.bool_], left: NDArray[np.bool_]) -> "LungMasks":
        labels = np.zeros(right.shape, dtype=np.uint8)
        labels[right] = RIGHT_LUNG
        labels[left] = LEFT_LUNG
        return cls(labels)


@dataclass(eq=False)
class LesionMasks:
    """Lesion label map (uint8, z/y/x): 0 none, 1 ground-glass, 2 solid."""

    labels: NDArray[np.uint8]

    @property
    def ggo(self) -> NDArray[np.bool_]:
        return self.labels == GGO

    @property
    def solid(self) -> NDArray[np.bool_]:
        return self.labels == SOLID

    @property
    def any(self) -> NDArray[np.bool_]:
        return self.labels > 0

    @classmethod
    def from_masks(cls, ggo: NDArray[np.bool_], solid: NDArray[np.bool_]) -> "LesionMasks":
        """Build from two boolean masks; where both are set, solid wins."""
        labels = np.zeros(ggo.shape, dtype=np.uint8)
        labels[ggo] = GGO
        labels[solid] = SOLID
        return cls(labels)


@dataclass(frozen=True, eq=False)
class VoxelChange:
    """A sparse edit of one label map.

    Attributes:
        target: which label map changed ("lung" or "lesion").
        indices: flat (C-order, z/y/x) int64 indices of the voxels that changed, unique.
        old: uint8 values before the edit, same length as ``indices``.
        new: uint8 values after the edit, same length as ``indices``.
    """

    target: LabelTarget
    indices: NDArray[np.int64]
    old: NDArray[np.uint8]
    new: NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.indices.size)

    @property
    def is_empty(self) -> bool:
        return self.indices.size == 0

    def inverse(self) -> "VoxelChange":
        """The change that undoes this one."""
        return VoxelChange(self.target, self.indices, self.new, self.old)

    def apply_to(self, labels: NDArray[np.uint8]) -> None:
        """Write ``new`` into ``labels`` in place."""
        labels.reshape(-1)[self.indices] = self.new

    @property
    def nbytes(self) -> int:
        return int(self.indices.nbytes + self.old.nbytes + self.new.nbytes)
