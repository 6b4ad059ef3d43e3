"""Reader measurements on the CT: ruler lengths, ROI HU statistics and the lesion list.

Headless (no Qt, no VTK): the viewer's measurement tools call these and the read keeps the result.
Points are fractional (z, y, x) voxel indices; ``spacing`` is (z, y, x) mm; HU are the volume's.

* :func:`ruler` - the distance between two points in mm (the voxel grid's physical spacing).
* :func:`circle_roi` - HU mean, SD (n - 1), min, max and area (mm^2) of the voxels whose centres
  lie inside a circle drawn on one slice (a disk in that slice's plane).
* :func:`lesion_list` - the connected lesions (GGO and solid together, 26-connected, as the
  editor's island tools), each with its volume (mL), GGO/solid share, lung side and centroid,
  largest first. The volumes add up to the lesion volume of :func:`quant.metrics.measure`.

Measurements are kept with a read as :func:`to_json` text (metric ``measurements``), so they
are part of what is saved, signed and exported.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID

__all__ = ["Measurement", "LesionComponent", "ruler", "circle_roi", "lesion_list", "to_json", "from_json"]


@dataclass(frozen=True)
class Measurement:
    """One reader measurement. ``kind``: "ruler" (``points``: 2 points, ``length_mm``) or "roi"
    (``points``: centre and a point on the circle, ``axis``: the slice's array axis; HU statistics
    and ``area_mm2``)."""

    kind: str
    points: tuple[tuple[float, float, float], ...]
    axis: int
    length_mm: float | None = None
    mean_hu: float | None = None
    sd_hu: float | None = None
    min_hu: float | None = None
    max_hu: float | None = None
    area_mm2: float | None = None
    n_voxels: int | None = None

    def describe(self) -> str:
        """One line for a list: "Ruler 23.4 mm" / "ROI 51 mm², -812 ± 35 HU (-890..-701)"."""
        if self.kind == "ruler":
            return f"Ruler {self.length_mm:.1f} mm"
        return (f"ROI {self.area_mm2:.0f} mm², {self.mean_hu:.0f} ± {self.sd_hu or 0:.0f} HU "
                f"({self.min_hu:.0f}..{self.max_hu:.0f})")


@dataclass(frozen=True)
class LesionComponent:
    """A connected lesion: ``volume_ml``, ``ggo_share`` / ``solid_share`` (fractions of its
    voxels), ``side`` ("right", "left" or "both" lungs), ``centroid`` (z, y, x) voxel index."""

    number: int
    n_voxels: int
    volume_ml: float
    ggo_share: float
    solid_share: float
    side: str
    centroid: tuple[float, float, float]


def _point(p: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(p, dtype=np.float64).reshape(3)


def ruler(p0: ArrayLike, p1: ArrayLike, spacing: Sequence[float], axis: int = -1) -> Measurement:
    """The distance (mm) between two (z, y, x) points; ``axis``: the array axis normal to the
    slice it was drawn on (-1: none; only then is it drawn by no view)."""
    a, b = _point(p0), _point(p1)
    length = float(np.sqrt((((b - a) * np.asarray(spacing, dtype=np.float64)) ** 2).sum()))
    return Measurement("ruler", (tuple(a.tolist()), tuple(b.tolist())), axis, length_mm=length)


def circle_roi(hu: NDArray, centre: ArrayLike, edge: ArrayLike, axis: int, spacing: Sequence[float]) -> Measurement:
    """HU statistics inside the circle through ``edge`` around ``centre`` on the slice of
    ``centre`` normal to array ``axis`` (radius in mm, so round on anisotropic pixels)."""
    c, e = _point(centre), _point(edge)
    sp = np.asarray(spacing, dtype=np.float64)
    keep = [a for a in range(3) if a != axis]
    radius = float(np.sqrt((((e - c) * sp)[keep] ** 2).sum()))
    index = int(round(c[axis]))
    plane = np.take(hu, index, axis=axis)
    rows, cols = np.ogrid[: plane.shape[0], : plane.shape[1]]
    d2 = ((rows - c[keep[0]]) * sp[keep[0]]) ** 2 + ((cols - c[keep[1]]) * sp[keep[1]]) ** 2
    inside = d2 <= radius**2
    values = plane[inside].astype(np.float64)
    pixel_mm2 = float(sp[keep[0]] * sp[keep[1]])
    c = c.copy()
    c[axis] = index
    if values.size == 0:
        return Measurement("roi", (tuple(c.tolist()), tuple(e.tolist())), axis, area_mm2=0.0, n_voxels=0)
    return Measurement(
        "roi", (tuple(c.tolist()), tuple(e.tolist())), axis, mean_hu=float(values.mean()),
        sd_hu=float(values.std(ddof=1)) if values.size > 1 else None, min_hu=float(values.min()),
        max_hu=float(values.max()), area_mm2=values.size * pixel_mm2, n_voxels=int(values.size),
    )


def lesion_list(lesions: NDArray[np.uint8], lungs: NDArray[np.uint8], spacing: Sequence[float]) -> list[LesionComponent]:
    """The connected lesions of a label map, largest first (see the module docstring); the
    components are those of the editor's island tools (:func:`quant.editing.regions.lesion_components`)."""
    from quant.editing.regions import lesion_components

    comps = lesion_components(lesions)
    if comps is None:
        return []
    lab, n, lo = comps
    box = tuple(slice(o, o + size) for o, size in zip(lo, lab.shape))
    coords = np.nonzero(lab)  # C order, as the ravelled selections below
    ids = lab[coords]
    values, sides = lesions[box][coords], lungs[box][coords]

    def per_component(weights: NDArray | None = None) -> NDArray[np.float64]:
        return np.bincount(ids, weights=weights, minlength=n + 1).astype(np.float64)

    size = per_component()
    ggo, solid = per_component(values == GGO), per_component(values == SOLID)
    right, left = per_component(sides == RIGHT_LUNG), per_component(sides == LEFT_LUNG)
    centroid = np.stack([per_component(c.astype(np.float64)) / np.maximum(size, 1) + o for c, o in zip(coords, lo)], 1)
    voxel_ml = float(np.prod(np.asarray(spacing, dtype=np.float64))) / 1000.0
    out = []
    for rank, k in enumerate(sorted(range(1, n + 1), key=lambda k: -size[k]), start=1):
        side = "both" if right[k] and left[k] else ("left" if left[k] > right[k] else "right")
        out.append(LesionComponent(rank, int(size[k]), size[k] * voxel_ml, ggo[k] / size[k], solid[k] / size[k],
                                   side, tuple(float(v) for v in centroid[k])))
    return out


def to_json(measurements: Sequence[Measurement]) -> str:
    """The measurements as compact JSON text (what the read keeps)."""
    return json.dumps([asdict(m) for m in measurements], separators=(",", ":"))


def from_json(text: str | None) -> list[Measurement]:
    """Measurements back from :func:`to_json` text (None or empty: none)."""
    if not text:
        return []
    return [Measurement(**{**item, "points": tuple(tuple(p) for p in item["points"])}) for item in json.loads(text)]
