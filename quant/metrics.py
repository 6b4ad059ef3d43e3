"""Endpoint metrics of a segmentation: lung volumes, lesion volumes and lesion proportions.

All volumes are in mL, proportions in percent of lung volume. Everything derives from one 3×3
table of voxel counts ``counts[lung_label, lesion_label]`` (lung label 0 outside / 1 right /
2 left; lesion label 0 none / 1 GGO / 2 solid). A lesion voxel outside both lungs is not counted
as lesion: the endpoint is defined as lesion volume *inside the lungs* / lung volume × 100.

:class:`MetricsTracker` keeps that table up to date from :class:`~quant.labels.VoxelChange` edits
in O(changed voxels), so the viewer can show live numbers while the reader paints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID, LesionMasks, LungMasks, VoxelChange
from quant.protocol import Protocol, default_protocol
from quant.volume import Volume

__all__ = ["Metrics", "MetricsTracker", "measure", "count_table", "metrics_from_counts"]

_N_LABELS = 3  # 0, 1, 2 in both label maps
_CHUNK = 1 << 23  # voxels per bincount call: bounds the int64 temporary to 64 MB


@dataclass(frozen=True)
class Metrics:
    """Endpoint numbers of one segmentation.

    Volumes in mL; ``*_pct`` in percent of the whole-lung volume (or of that lung's volume for the
    ``_left``/``_right`` variants; 0.0 when that lung is empty). ``suggested_normal`` is True when
    ``lesion_pct`` is below the protocol's ``normal.max_lesion_pct`` (a suggestion: the reader
    decides).
    """

    lung_ml: float
    lung_left_ml: float
    lung_right_ml: float
    ggo_ml: float
    solid_ml: float
    lesion_ml: float
    lesion_pct: float
    solid_pct: float
    lesion_pct_left: float
    lesion_pct_right: float
    solid_pct_left: float
    solid_pct_right: float
    suggested_normal: bool

    def as_dict(self) -> dict[str, float | bool]:
        """Plain dict with the field names above (JSON-ready)."""
        return asdict(self)


def _check_labels(labels: NDArray[np.uint8], what: str) -> None:
    if labels.dtype != np.uint8:
        raise ValueError(f"{what} labels must be uint8, got {labels.dtype}")
    if labels.size and int(labels.max()) >= _N_LABELS:
        raise ValueError(f"{what} labels must be 0, 1 or 2; found {int(labels.max())}")


def count_table(lung_labels: NDArray[np.uint8], lesion_labels: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Voxel counts ``table[lung_label, lesion_label]`` (3×3 int64) of two (z, y, x) label maps."""
    if lung_labels.shape != lesion_labels.shape:
        raise ValueError(f"label maps differ in shape: {lung_labels.shape} vs {lesion_labels.shape}")
    _check_labels(lung_labels, "lung")
    _check_labels(lesion_labels, "lesion")
    table = np.zeros((_N_LABELS, _N_LABELS), dtype=np.int64)
    box = _nonzero_box(lung_labels)
    if box is not None:
        lung = lung_labels[box].reshape(-1)
        lesion = lesion_labels[box].reshape(-1)
        flat = np.zeros(_N_LABELS * _N_LABELS, dtype=np.int64)
        # uint8 code (<= 8) per voxel, counted in chunks so no full-size int64 copy is made.
        for start in range(0, lung.size, _CHUNK):
            code = lung[start : start + _CHUNK] * np.uint8(_N_LABELS)
            code += lesion[start : start + _CHUNK]
            flat += np.bincount(code, minlength=_N_LABELS * _N_LABELS)
        table[1:] = flat.reshape(_N_LABELS, _N_LABELS)[1:]
    # Outside the lungs' bounding box every voxel has lung label 0: row 0 is the remainder.
    for value in (GGO, SOLID):
        table[0, value] = np.count_nonzero(lesion_labels == value) - table[1:, value].sum()
    table[0, 0] = lung_labels.size - table.sum()
    return table


def _nonzero_box(labels: NDArray[np.uint8]) -> tuple[slice, slice, slice] | None:
    """Bounding box (z, y, x slices) of the nonzero voxels, or None when there are none."""
    nz = labels.shape[0]
    zs = np.flatnonzero(labels.reshape(nz, -1).any(axis=1))
    if zs.size == 0:
        return None
    slab = labels[zs[0] : zs[-1] + 1]
    ys = np.flatnonzero(slab.any(axis=(0, 2)))
    xs = np.flatnonzero(slab.any(axis=(0, 1)))
    return slice(zs[0], zs[-1] + 1), slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1)


def metrics_from_counts(
    table: NDArray[np.int64], voxel_ml: float, protocol: Protocol | None = None
) -> Metrics:
    """Turn a 3×3 count table (see :func:`count_table`) into :class:`Metrics`."""
    protocol = protocol or default_protocol()
    t = np.asarray(table, dtype=np.int64)

    def pct(part: int, whole: int) -> float:
        return 100.0 * part / whole if whole > 0 else 0.0

    right = int(t[RIGHT_LUNG].sum())
    left = int(t[LEFT_LUNG].sum())
    lung = right + left
    ggo = int(t[RIGHT_LUNG, GGO] + t[LEFT_LUNG, GGO])
    solid = int(t[RIGHT_LUNG, SOLID] + t[LEFT_LUNG, SOLID])
    lesion_r = int(t[RIGHT_LUNG, GGO] + t[RIGHT_LUNG, SOLID])
    lesion_l = int(t[LEFT_LUNG, GGO] + t[LEFT_LUNG, SOLID])
    lesion_pct = pct(ggo + solid, lung)
    return Metrics(
        lung_ml=lung * voxel_ml,
        lung_left_ml=left * voxel_ml,
        lung_right_ml=right * voxel_ml,
        ggo_ml=ggo * voxel_ml,
        solid_ml=solid * voxel_ml,
        lesion_ml=(ggo + solid) * voxel_ml,
        lesion_pct=lesion_pct,
        solid_pct=pct(solid, lung),
        lesion_pct_left=pct(lesion_l, left),
        lesion_pct_right=pct(lesion_r, right),
        solid_pct_left=pct(int(t[LEFT_LUNG, SOLID]), left),
        solid_pct_right=pct(int(t[RIGHT_LUNG, SOLID]), right),
        suggested_normal=bool(lesion_pct < protocol.normal.max_lesion_pct),
    )


def measure(
    volume: Volume, lungs: LungMasks, lesions: LesionMasks, protocol: Protocol | None = None
) -> Metrics:
    """Full computation of the endpoint metrics of ``lungs``/``lesions`` on ``volume``'s grid."""
    if lungs.labels.shape != volume.shape or lesions.labels.shape != volume.shape:
        raise ValueError("lung and lesion label maps must have the volume's shape (z, y, x)")
    table = count_table(lungs.labels, lesions.labels)
    return metrics_from_counts(table, volume.voxel_volume_ml, protocol)


class MetricsTracker:
    """Live metrics over label arrays that are edited in place.

    Build it once (one full count), then call :meth:`apply` with every :class:`VoxelChange`
    *after* it has been written into ``lungs.labels`` / ``lesions.labels``. Each update costs
    O(len(change)): the counts move between cells of the 3×3 table using the other map's labels
    at the changed voxels. The result always equals :func:`measure` on the current arrays.
    """

    def __init__(
        self,
        volume: Volume,
        lungs: LungMasks,
        lesions: LesionMasks,
        protocol: Protocol | None = None,
    ) -> None:
        if lungs.labels.shape != volume.shape or lesions.labels.shape != volume.shape:
            raise ValueError("lung and lesion label maps must have the volume's shape (z, y, x)")
        self._lungs = lungs
        self._lesions = lesions
        self._voxel_ml = volume.voxel_volume_ml
        self._protocol = protocol or default_protocol()
        self._table = count_table(lungs.labels, lesions.labels)
        self._metrics: Metrics | None = None

    @property
    def counts(self) -> NDArray[np.int64]:
        """Copy of the 3×3 voxel-count table ``[lung_label, lesion_label]``."""
        return self._table.copy()

    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            self._metrics = metrics_from_counts(self._table, self._voxel_ml, self._protocol)
        return self._metrics

    def apply(self, change: VoxelChange) -> None:
        """Account for ``change``, which must already be applied to the label arrays."""
        if change.is_empty:
            return
        old = np.asarray(change.old, dtype=np.intp)
        new = np.asarray(change.new, dtype=np.intp)
        if change.target == "lesion":
            other = self._lungs.labels.reshape(-1)[change.indices].astype(np.intp)
            minus = other * _N_LABELS + old
            plus = other * _N_LABELS + new
        elif change.target == "lung":
            other = self._lesions.labels.reshape(-1)[change.indices].astype(np.intp)
            minus = old * _N_LABELS + other
            plus = new * _N_LABELS + other
        else:
            raise ValueError(f"unknown change target {change.target!r}")
        n = _N_LABELS * _N_LABELS
        delta = np.bincount(plus, minlength=n) - np.bincount(minus, minlength=n)
        self._table += delta.reshape(_N_LABELS, _N_LABELS)
        self._metrics = None

    def recompute(self) -> Metrics:
        """Recount from the arrays (after a bulk replacement) and return the metrics."""
        self._table = count_table(self._lungs.labels, self._lesions.labels)
        self._metrics = None
        return self.metrics
