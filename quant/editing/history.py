"""Undo/redo history of label-map edits, stored as sparse deltas.

A :class:`HistoryStep` is one user action (one mouse drag, one click of a tool) with a label for the
Undo/Redo menu ("Paint solid, 3 mm") and the :class:`~quant.labels.VoxelChange` deltas it made, in
the order they were applied. Nothing is ever a snapshot: memory is 10 bytes per changed voxel
(int64 index + old and new uint8), so a 3 mm brush stroke costs kilobytes, not the 78 MB of a
512 x 512 x 300 label map.

The :class:`History` keeps at most ``max_steps`` steps (oldest dropped first), refuses empty steps
(a click that changed nothing is not an undo step) and clears the redo stack on every new step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quant.editing.errors import EditingError
from quant.labels import VoxelChange

__all__ = ["HistoryStep", "History", "compose_changes", "MIN_HISTORY"]

#: The smallest history length allowed (the issue requires at least 100 undo steps).
MIN_HISTORY = 100


@dataclass(frozen=True, eq=False)
class HistoryStep:
    """One undoable action.

    Attributes:
        label: what the step did, for the Undo/Redo menu, e.g. ``"Paint solid, 3 mm"``.
        changes: the deltas in the order they were applied; undo applies their inverses in
            reverse order.
    """

    label: str
    changes: tuple[VoxelChange, ...]

    @property
    def nbytes(self) -> int:
        """Bytes held by the deltas (indices + old + new values)."""
        return sum(c.nbytes for c in self.changes)

    @property
    def n_voxels(self) -> int:
        """Number of voxel changes in the step (a voxel changed in both maps counts twice)."""
        return sum(len(c) for c in self.changes)


def compose_changes(changes: Sequence[VoxelChange]) -> tuple[VoxelChange, ...]:
    """Merge successive deltas into one per target map (lesion first, then lung).

    For each voxel the merged delta keeps the value before its first change and after its last
    one; voxels that end where they started are dropped. Used to turn the many segments of one
    drag into a compact undo step.

    The returned order (lesion before lung) is safe to apply as a unit: the two maps are
    independent arrays, so the order only matters to listeners, and clearing lesions before
    shrinking the lung keeps "lesion inside lung" true at every notification of a lung erase.
    """
    out: list[VoxelChange] = []
    for target in ("lesion", "lung"):
        parts = [c for c in changes if c.target == target and not c.is_empty]
        if not parts:
            continue
        if len(parts) == 1:
            out.append(parts[0])
            continue
        idx = np.concatenate([c.indices for c in parts])
        old = np.concatenate([c.old for c in parts])
        new = np.concatenate([c.new for c in parts])
        uniq, first = np.unique(idx, return_index=True)
        # Last occurrence of each index: first occurrence in the reversed array.
        _, last_rev = np.unique(idx[::-1], return_index=True)
        last = idx.size - 1 - last_rev
        o, n = old[first], new[last]
        keep = o != n
        out.append(VoxelChange(target, uniq[keep], o[keep], n[keep]))
    return tuple(c for c in out if not c.is_empty)


class History:
    """Bounded undo and redo stacks of :class:`HistoryStep`.

    The stacks only store steps; applying them to arrays is the caller's job (the editor does it
    so it can notify its listeners).
    """

    def __init__(self, max_steps: int = 200) -> None:
        if int(max_steps) < MIN_HISTORY:
            raise EditingError(
                f"the undo history must keep at least {MIN_HISTORY} steps, got {max_steps}"
            )
        self.max_steps = int(max_steps)
        self._undo: deque[HistoryStep] = deque()
        self._redo: list[HistoryStep] = []

    def push(self, step: HistoryStep) -> bool:
        """Record a new step; returns False (and records nothing) when it changed no voxel.

        A recorded step clears the redo stack; beyond ``max_steps`` the oldest step is dropped.
        """
        if step.n_voxels == 0:
            return False
        self._undo.append(step)
        self._redo.clear()
        while len(self._undo) > self.max_steps:
            self._undo.popleft()
        return True

    def pop_undo(self) -> HistoryStep | None:
        """Move the newest step to the redo stack and return it (None when there is none)."""
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        return step

    def pop_redo(self) -> HistoryStep | None:
        """Move the most recently undone step back to the undo stack and return it."""
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        return step

    def clear(self) -> None:
        """Forget every step (e.g. after the label maps were replaced wholesale)."""
        self._undo.clear()
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str | None:
        """Label of the step :meth:`pop_undo` would return, or None."""
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        """Label of the step :meth:`pop_redo` would return, or None."""
        return self._redo[-1].label if self._redo else None

    @property
    def n_undo(self) -> int:
        return len(self._undo)

    @property
    def n_redo(self) -> int:
        return len(self._redo)

    @property
    def nbytes(self) -> int:
        """Bytes held by all recorded deltas, undo and redo stacks together."""
        return sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)
