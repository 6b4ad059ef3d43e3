"""Headless mask editor (a 3D-Slicer-style *Logic* class): brush, region tools, undo/redo.

:class:`MaskEditor` edits the live lung and lesion label maps **in place** and reports every edit
as a sparse :class:`~quant.labels.VoxelChange` (flat C-order (z, y, x) indices, old and new uint8
values). Listeners registered with :meth:`MaskEditor.add_listener` are called after every applied
change (each stroke segment, undo, redo, tool operation), so slice views and the
:class:`~quant.metrics.MetricsTracker` update in O(changed voxels). Empty changes are not
reported. The viewer's widgets only translate mouse events into these calls.

Tool semantics (documented choices):

* **paint** sets the current ``label`` (GGO or SOLID) under the brush, only inside the lungs when
  ``restrict_to_lungs``, and only over the other lesion label when the overwrite policy allows it
  (``solid_overwrites_ggo``, default True; ``ggo_overwrites_solid``, default False).
* **erase** clears the current ``label`` only, so erasing a solid core leaves the ground-glass
  around it; set ``erase_any_lesion`` to clear both lesion labels.
* **threshold brush**: when ``hu_range`` is set, every brush tool (paint, erase, lung paint, lung
  erase) touches only voxels whose HU lies in the inclusive range, as Slicer's editable intensity
  range does.
* **lung_paint** adds to the lung the stroke starts in (the lung label under the first point, else
  the nearest lung voxel's label, else the patient side of the point); it fills only voxels
  outside both lungs, never moving a voxel from one lung to the other.
* **lung_erase** removes voxels from the lungs and clears any lesion there in the same step
  (lesion change first, then lung change), so lesions always stay inside the lungs.
* **grow**, **remove island**, **keep largest**, **remove small**, **fill between slices**: see
  :mod:`quant.editing.regions` and :mod:`quant.editing.interpolation`; grow and fill obey the paint
  rules above (lungs, overwrite policy) and island tools clear GGO and solid together.

One drag (begin/continue/end stroke) is one undo step; a step that changed nothing is not
recorded. Steps are labelled for the menu, e.g. ``"Paint solid, 3 mm"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant.editing.brush import BrushShape, brush_offsets, check_brush, stroke_footprint
from quant.editing.errors import EditingError
from quant.editing.history import History, HistoryStep, compose_changes
from quant.editing.interpolation import fill_between_slices as _fill_indices
from quant.editing.policy import OverwritePolicy, check_hu_range, clear_change, paint_change, set_change
from quant.editing.regions import (
    all_but_largest_component,
    components_smaller_than,
    grow_region,
    lesion_component_at,
    nearest_label,
)
from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID, LesionMasks, LungMasks, VoxelChange
from quant.volume import Volume

__all__ = [
    "MaskEditor",
    "HistoryStep",
    "VoxelChange",
    "EditingError",
    "BrushTool",
    "Listener",
    "LESION_NAMES",
    "brush_offsets",
    "OverwritePolicy",
]

BrushTool = Literal["paint", "erase", "lung_paint", "lung_erase"]
Listener = Callable[[VoxelChange], None]

#: Names of the lesion labels as they appear in undo labels.
LESION_NAMES = {GGO: "ground-glass", SOLID: "solid"}
_LUNG_NAMES = {RIGHT_LUNG: "right lung", LEFT_LUNG: "left lung"}
_TOOLS = ("paint", "erase", "lung_paint", "lung_erase")


def _fmt(x: float) -> str:
    """A size or HU for an undo label: at most one decimal ("8.1 mm", not "8.05255 mm")."""
    return f"{round(float(x), 1):g}"


@dataclass
class _Stroke:
    """An open drag. Brush settings are frozen at its start, so the whole drag matches its
    undo label even if the viewer changes them mid-drag."""

    tool: str
    axis: int
    last: NDArray[np.float64]
    label: str
    lung_value: int
    value: int
    radius_mm: float
    shape: BrushShape
    hu_range: tuple[float, float] | None
    erase_any: bool
    changes: list[VoxelChange] = field(default_factory=list)


class MaskEditor:
    """Edits ``lungs.labels`` and ``lesions.labels`` in place, with undo/redo and listeners.

    Args:
        volume: the CT (HU for the threshold brush and grow; spacing for mm radii).
        lungs, lesions: label maps with the volume's shape, uint8 and C-contiguous (edits are
            written through flat views, which a non-contiguous array cannot give).
        max_history: undo steps kept (at least 100).

    Settings are plain attributes, read at the start of each operation (a drag keeps the brush
    settings it began with): ``label`` (GGO or SOLID), ``radius_mm``, ``brush_shape`` ("disk" |
    "sphere"), ``hu_range`` ((low, high) HU or None), ``solid_overwrites_ggo``,
    ``ggo_overwrites_solid``, ``restrict_to_lungs``, ``erase_any_lesion``. Not thread-safe: call
    it from one thread (the GUI thread), as the arrays it edits are the ones being displayed.
    """

    def __init__(
        self, volume: Volume, lungs: LungMasks, lesions: LesionMasks, *, max_history: int = 200
    ) -> None:
        for name, arr in (("lung", lungs.labels), ("lesion", lesions.labels)):
            if arr.shape != volume.shape:
                raise EditingError(f"{name} label map has shape {arr.shape}, the CT has {volume.shape}")
            if arr.dtype != np.uint8 or not arr.flags.c_contiguous or not arr.flags.writeable:
                raise EditingError(
                    f"{name} label map must be a writeable C-contiguous uint8 array "
                    "(use np.ascontiguousarray(..., dtype=np.uint8) before editing)"
                )
        self.volume = volume
        self.lungs = lungs
        self.lesions = lesions
        self.label: int = GGO
        self.radius_mm: float = 3.0
        self.brush_shape: BrushShape = "disk"
        self.hu_range: tuple[float, float] | None = None
        self.solid_overwrites_ggo: bool = True
        self.ggo_overwrites_solid: bool = False
        self.restrict_to_lungs: bool = True
        self.erase_any_lesion: bool = False
        self._history = History(max_history)
        self._listeners: list[Listener] = []
        self._stroke: _Stroke | None = None
        self._hu_flat = np.ascontiguousarray(volume.hu).reshape(-1)

    # ----------------------------------------------------------------- listeners and plumbing
    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(change)`` after every applied, non-empty change."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        self._listeners.remove(callback)

    def _flat(self, target: str) -> NDArray[np.uint8]:
        arr = self.lungs.labels if target == "lung" else self.lesions.labels
        if not arr.flags.c_contiguous:
            # reshape(-1) would silently copy, and the edit would be lost.
            raise EditingError(f"the {target} label map was replaced by a non-contiguous array")
        return arr.reshape(-1)

    def _apply(self, changes: tuple[VoxelChange, ...] | list[VoxelChange]) -> None:
        """Write each change and notify listeners after it (in order, so a listener always sees
        the arrays exactly as of its change). A failing listener cannot leave the arrays out of
        step with the history: every change is still written, then the first error is raised."""
        error: Exception | None = None
        for change in changes:
            if change.is_empty:
                continue
            self._flat(change.target)[change.indices] = change.new
            for callback in list(self._listeners):
                try:
                    callback(change)
                except Exception as exc:  # noqa: BLE001 - re-raised below
                    error = error or exc
        if error is not None:
            raise error

    def _commit(self, label: str, changes: list[VoxelChange]) -> HistoryStep | None:
        step = HistoryStep(label, tuple(c for c in changes if not c.is_empty))
        recorded = self._history.push(step)  # before notifying: see _apply
        self._apply(step.changes)
        return step if recorded else None

    @property
    def policy(self) -> OverwritePolicy:
        """The current overwrite policy and lung restriction, as one value."""
        return OverwritePolicy(
            bool(self.solid_overwrites_ggo), bool(self.ggo_overwrites_solid), bool(self.restrict_to_lungs)
        )

    def _paint(self, flat: NDArray[np.int64], value: int) -> VoxelChange:
        return paint_change(self._flat("lesion"), self._flat("lung"), flat, value, self.policy)

    def _clear(self, target: str, flat: NDArray[np.int64], only: int | None = None) -> VoxelChange:
        return clear_change(target, self._flat(target), flat, only)  # type: ignore[arg-type]

    def _check_label(self) -> int:
        if self.label not in (GGO, SOLID):
            raise EditingError(f"lesion label must be GGO (1) or SOLID (2), got {self.label!r}")
        return int(self.label)

    # ------------------------------------------------------------------------------ strokes
    def begin_stroke(self, tool: BrushTool, point_zyx: ArrayLike, axis: int = 0) -> VoxelChange:
        """Start a drag with ``tool`` at ``point_zyx`` (fractional voxel index) and dab there.

        ``axis`` is the array axis normal to the view (the disk brush paints in that plane).
        Returns the change made by this dab (for lung_erase: the lung change; the lesion change
        it implies reaches listeners too). A stroke still open is ended first.
        """
        self._finish_pending_stroke()
        if tool not in _TOOLS:
            raise EditingError(f"unknown brush tool {tool!r}; use one of {', '.join(_TOOLS)}")
        if axis not in (0, 1, 2):
            raise EditingError(f"view axis must be 0, 1 or 2, got {axis!r}")
        p = np.asarray(point_zyx, dtype=np.float64).reshape(3)
        check_brush(self.radius_mm, self.volume.spacing, self.brush_shape, axis)
        hu_range = check_hu_range(self.hu_range)
        value = self._check_label() if tool in ("paint", "erase") else 0
        lung_value = self._lung_label_for(p) if tool == "lung_paint" else 0
        self._stroke = _Stroke(
            tool, int(axis), p, self._stroke_label(tool, lung_value), lung_value, value,
            float(self.radius_mm), self.brush_shape, hu_range, bool(self.erase_any_lesion),
        )  # fmt: skip
        try:
            return self._dab(None, p)
        except Exception:
            if not self._stroke.changes:  # nothing applied: leave no half-open drag behind
                self._stroke = None
            raise

    def continue_stroke(self, point_zyx: ArrayLike) -> VoxelChange:
        """Extend the drag to ``point_zyx``, covering the whole segment from the previous point."""
        if self._stroke is None:
            raise EditingError("continue_stroke() called with no stroke begun")
        p = np.asarray(point_zyx, dtype=np.float64).reshape(3)
        change = self._dab(self._stroke.last, p)
        self._stroke.last = p
        return change

    def end_stroke(self) -> HistoryStep | None:
        """Close the drag: it becomes one undo step (None, and nothing recorded, if no change)."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return None
        step = HistoryStep(stroke.label, compose_changes(stroke.changes))
        return step if self._history.push(step) else None

    def cancel_stroke(self) -> None:
        """Revert the open drag without recording it (e.g. Escape during a drag)."""
        stroke, self._stroke = self._stroke, None
        if stroke is not None:
            self._apply([c.inverse() for c in reversed(stroke.changes)])

    @property
    def stroke_in_progress(self) -> bool:
        return self._stroke is not None

    def _finish_pending_stroke(self) -> None:
        if self._stroke is not None:
            self.end_stroke()

    def _stroke_label(self, tool: str, lung_value: int) -> str:
        size = f"{_fmt(self.radius_mm)} mm" + (" sphere" if self.brush_shape == "sphere" else "")
        if tool == "paint":
            what = f"Paint {LESION_NAMES[self._check_label()]}"
        elif tool == "erase":
            what = "Erase lesion" if self.erase_any_lesion else f"Erase {LESION_NAMES[self._check_label()]}"
        elif tool == "lung_paint":
            what = f"Paint {_LUNG_NAMES.get(lung_value, 'lung')}"
        else:
            what = "Erase lung"
        label = f"{what}, {size}"
        if self.hu_range is not None:
            label += f", HU {_fmt(self.hu_range[0])}..{_fmt(self.hu_range[1])}"
        return label

    def _dab(self, p0: NDArray[np.float64] | None, p1: NDArray[np.float64]) -> VoxelChange:
        st = self._stroke
        assert st is not None
        start, end = (p1, None) if p0 is None else (p0, p1)
        spacing, shape = self.volume.spacing, self.volume.shape
        flat = stroke_footprint(start, end, st.radius_mm, spacing, shape, st.shape, st.axis)
        if st.hu_range is not None and flat.size:
            hu = self._hu_flat[flat]
            flat = flat[(hu >= st.hu_range[0]) & (hu <= st.hu_range[1])]
        if st.tool == "paint":
            changes = [self._paint(flat, st.value)]
        elif st.tool == "erase":
            changes = [self._clear("lesion", flat, None if st.erase_any else st.value)]
        elif st.tool == "lung_paint":  # only voxels outside both lungs
            changes = [set_change("lung", self._flat("lung"), flat, st.lung_value)]
        else:  # lung_erase: lesions there go too, first, so they never sit outside a lung
            lung_change = self._clear("lung", flat)
            changes = [self._clear("lesion", lung_change.indices), lung_change]
        st.changes.extend(c for c in changes if not c.is_empty)  # before notifying: see _apply
        self._apply(changes)
        return changes[-1]

    def _lung_label_for(self, p: NDArray[np.float64]) -> int:
        value = nearest_label(self.lungs.labels, p, self.volume.spacing)
        if value:
            return value
        # No lung at all: decide by the patient side. LPS +x is the patient's left.
        centre = (np.asarray(self.volume.shape, dtype=np.float64) - 1.0) / 2.0
        x_point, x_centre = self.volume.index_to_lps(np.stack([p, centre]))[:, 0]
        return LEFT_LUNG if x_point > x_centre else RIGHT_LUNG

    # --------------------------------------------------------------------------- region tools
    def grow(
        self, seed_zyx: ArrayLike, hu_range: tuple[float, float], max_radius_mm: float
    ) -> HistoryStep | None:
        """Add the current label on the 6-connected region around ``seed_zyx`` whose HU lies in
        ``hu_range`` (inclusive), inside the lungs and within ``max_radius_mm`` (mm) of the seed."""
        self._finish_pending_stroke()
        value = self._check_label()
        rng = check_hu_range(hu_range)
        assert rng is not None
        flat = grow_region(
            self.volume.hu, self.lungs.labels, seed_zyx, rng, max_radius_mm, self.volume.spacing
        )
        label = f"Grow {LESION_NAMES[value]}, HU {_fmt(rng[0])}..{_fmt(rng[1])}, {_fmt(max_radius_mm)} mm"
        return self._commit(label, [self._paint(flat, value)])

    def remove_island(self, seed_zyx: ArrayLike) -> HistoryStep | None:
        """Delete the lesion (GGO and solid together, 26-connected) under ``seed_zyx``."""
        self._finish_pending_stroke()
        flat = lesion_component_at(self.lesions.labels, seed_zyx)
        ml = flat.size * self.volume.voxel_volume_ml
        size = f"{ml:.2f}" if ml < 10 else f"{ml:.0f}"
        return self._commit(f"Remove island, {size} mL", [self._clear("lesion", flat)])

    def keep_largest(self) -> HistoryStep | None:
        """Delete every lesion except the largest (26-connected, GGO and solid together)."""
        self._finish_pending_stroke()
        flat = all_but_largest_component(self.lesions.labels)
        return self._commit("Keep largest lesion", [self._clear("lesion", flat)])

    def remove_small(self, min_ml: float) -> HistoryStep | None:
        """Delete every lesion (26-connected, GGO and solid together) smaller than ``min_ml`` mL."""
        self._finish_pending_stroke()
        if not min_ml >= 0:
            raise EditingError(f"minimum lesion size must be >= 0 mL, got {min_ml!r}")
        flat = components_smaller_than(self.lesions.labels, min_ml / self.volume.voxel_volume_ml)
        return self._commit(f"Remove lesions < {min_ml:g} mL", [self._clear("lesion", flat)])

    def fill_between_slices(self, axis: int = 0, *, max_gap: int | None = None) -> HistoryStep | None:
        """Fill the empty slices (along ``axis``) between slices holding the current label, by
        signed-distance interpolation (see :mod:`quant.editing.interpolation`); obeys the lung
        restriction and overwrite policy. ``max_gap`` skips gaps wider than that many slices."""
        self._finish_pending_stroke()
        value = self._check_label()
        flat = _fill_indices(self.lesions.labels, value, axis, self.volume.spacing, max_gap)
        label = f"Fill between slices, {LESION_NAMES[value]}"
        return self._commit(label, [self._paint(flat, value)])

    # ---------------------------------------------------------------------------- undo/redo
    def undo(self) -> HistoryStep | None:
        """Revert the newest step (inverses in reverse order); None when there is nothing to undo."""
        self._finish_pending_stroke()
        step = self._history.pop_undo()
        if step is not None:
            self._apply([c.inverse() for c in reversed(step.changes)])
        return step

    def redo(self) -> HistoryStep | None:
        """Re-apply the most recently undone step; None when there is nothing to redo."""
        self._finish_pending_stroke()
        step = self._history.pop_redo()
        if step is not None:
            self._apply(step.changes)
        return step

    def clear_history(self) -> None:
        """Forget all steps (call after replacing the label maps wholesale, e.g. re-segmenting)."""
        self._stroke = None
        self._history.clear()

    @property
    def can_undo(self) -> bool:
        return self._history.can_undo

    @property
    def can_redo(self) -> bool:
        return self._history.can_redo

    @property
    def undo_label(self) -> str | None:
        return self._history.undo_label

    @property
    def redo_label(self) -> str | None:
        return self._history.redo_label

    @property
    def history_nbytes(self) -> int:
        """Bytes held by the undo and redo deltas."""
        return self._history.nbytes

    @property
    def history(self) -> History:
        return self._history
