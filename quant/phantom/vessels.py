"""Pulmonary vessel trees: branching, tapering tubes grown from each hilum into the lung.

Trees are generated in the phantom frame (mm) from a seed, independent of the output size, and
rasterised onto any grid. Growth is steered by a coarse lung look-up volume with the distance to the
pleura, so vessels stay inside the lung and thin out towards the periphery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.phantom.grid import Grid

__all__ = ["Segment", "LungLookup", "grow_trees", "rasterize"]

#: Radius (mm) at which branching stops: the smallest vessels drawn.
MIN_RADIUS_MM = 0.9
#: Radius ratio child / parent (Murray's law for two equal children gives 2^(-1/3) ≈ 0.79).
TAPER = 0.79


@dataclass(frozen=True)
class Segment:
    """A tapered tube from ``a`` to ``b`` (x, y, z mm) with radii ``ra`` → ``rb`` (mm)."""

    a: NDArray[np.float64]
    b: NDArray[np.float64]
    ra: float
    rb: float


@dataclass
class LungLookup:
    """Lung side and distance to the pleura (mm) sampled on a coarse grid, for fast point queries."""

    grid: Grid
    side: NDArray[np.uint8]
    depth_mm: NDArray[np.float32]

    def query(self, points_xyz: NDArray[np.float64]) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
        """Nearest-sample lung side and depth below the pleura at N×3 (x, y, z) points."""
        idx = np.rint(self.grid.to_index(points_xyz)).astype(np.int64)
        for axis in range(3):
            np.clip(idx[:, axis], 0, self.grid.shape[axis] - 1, out=idx[:, axis])
        return self.side[idx[:, 0], idx[:, 1], idx[:, 2]], self.depth_mm[idx[:, 0], idx[:, 1], idx[:, 2]]


def _perpendicular(d: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
    e = rng.normal(size=3)
    e -= (e @ d) * d
    return e / np.linalg.norm(e)


def _roots(hila: dict[int, NDArray[np.float64]]) -> list[tuple[int, NDArray[np.float64], NDArray[np.float64], float]]:
    """Lobar trunks: (side, start, direction, radius) for upper, middle/lingula and lower lobes."""
    roots = []
    for side, hilum in hila.items():
        sx = -1.0 if side == 1 else 1.0
        vein_hilum = hilum + np.array([2.0 * sx, -6.0, -22.0])
        for start, d, r in (
            # Pulmonary arteries, beside the bronchi.
            (hilum, (0.45 * sx, -0.15, 0.88), 5.4),   # upper lobe
            (hilum, (0.70 * sx, -0.65, -0.25), 4.2),  # middle lobe / lingula
            (hilum, (0.40 * sx, 0.45, -0.80), 5.8),   # lower lobe
            (hilum, (0.75 * sx, 0.55, 0.10), 4.2),    # superior segment of the lower lobe
            # Pulmonary veins, draining lower and more anteriorly towards the left atrium.
            (vein_hilum, (0.55 * sx, -0.35, 0.75), 4.6),
            (vein_hilum, (0.70 * sx, 0.25, -0.65), 4.8),
            (vein_hilum, (0.80 * sx, -0.55, -0.20), 3.8),
        ):
            v = np.asarray(d, dtype=np.float64)
            roots.append((side, np.asarray(start, dtype=np.float64), v / np.linalg.norm(v), r))
    return roots


def grow_trees(lookup: LungLookup, hila: dict[int, NDArray[np.float64]], seed: int) -> list[Segment]:
    """Grow one vessel tree per lobar trunk; returns the tube segments of all trees."""
    rng = np.random.default_rng([seed, 0x7E55E1])
    segments: list[Segment] = []
    stack = [(side, p, d, r, 0) for side, p, d, r in _roots(hila)]
    while stack:
        side, p, d, r, gen = stack.pop()
        length = (18.0 if gen == 0 else 0.0) + 3.0 * r + rng.uniform(2.0, 6.0)
        r_end = r * TAPER
        placed = None
        for attempt in range(8):
            dd = d
            if attempt:
                turn = 0.3 + 0.1 * attempt
                dd = d * np.cos(turn) + _perpendicular(d, rng) * np.sin(turn)
                dd /= np.linalg.norm(dd)
            ln = length * (1.0 if attempt < 4 else 0.6)
            q = p + dd * ln
            probe = p + dd[None, :] * (np.array([0.35, 0.7, 1.0])[:, None] * ln)
            s_side, depth = lookup.query(probe)
            if gen == 0:  # trunks start in the mediastinum: only their end must be in the lung
                ok = s_side[-1] == side and depth[-1] > r + 4.0
            else:
                ok = bool(np.all(s_side == side) and depth[-1] > r_end + 2.0)
            if ok:
                placed = (dd, q)
                break
        if placed is None:
            continue
        dd, q = placed
        segments.append(Segment(p, q, r, r_end))
        if r_end < MIN_RADIUS_MM:
            continue
        alpha = rng.uniform(0.35, 0.65)
        e = _perpendicular(dd, rng)
        # Unequal split: a main continuation and a thinner side branch, as in real arteries.
        share = rng.uniform(0.0, 0.25)
        for sign, rr in ((1.0, r_end * (1.0 + share * 0.3)), (-1.0, r_end * (1.0 - share))):
            a = alpha * (0.6 if sign > 0 else 1.3)
            child = dd * np.cos(a) + sign * e * np.sin(a)
            stack.append((side, q, child / np.linalg.norm(child), min(rr, r_end * 1.05), gen + 1))
    return segments


def rasterize(segments: list[Segment], grid: Grid, min_radius_mm: float = 0.0) -> NDArray[np.bool_]:
    """Boolean (z, y, x) mask of the voxel centres inside any tube, on ``grid``.

    Tubes thinner than ``min_radius_mm`` are left out: below about half a voxel a vessel is not
    resolved, it only adds to the mean density of the parenchyma around it.
    """
    mask = np.zeros(grid.shape, dtype=bool)
    axes = [grid.x, grid.y, grid.z]
    for seg in segments:
        rmax = max(seg.ra, seg.rb)
        if rmax < min_radius_mm:
            continue
        lo = np.minimum(seg.a, seg.b) - rmax
        hi = np.maximum(seg.a, seg.b) + rmax
        sl = []
        for c in range(3):
            ax = axes[c]
            i0 = int(np.searchsorted(ax, lo[c]))
            i1 = int(np.searchsorted(ax, hi[c], side="right"))
            sl.append((i0, i1))
        if any(i1 <= i0 for i0, i1 in sl):
            continue
        xs = axes[0][sl[0][0]:sl[0][1]][None, None, :]
        ys = axes[1][sl[1][0]:sl[1][1]][None, :, None]
        zs = axes[2][sl[2][0]:sl[2][1]][:, None, None]
        ab = (seg.b - seg.a).astype(np.float32)
        px, py, pz = xs - np.float32(seg.a[0]), ys - np.float32(seg.a[1]), zs - np.float32(seg.a[2])
        t = np.clip((px * ab[0] + py * ab[1] + pz * ab[2]) / np.float32(ab @ ab), 0.0, 1.0)
        dx, dy, dz = px - t * ab[0], py - t * ab[1], pz - t * ab[2]
        rad = np.float32(seg.ra) + t * np.float32(seg.rb - seg.ra)
        inside = dx * dx + dy * dy + dz * dz < rad * rad
        mask[sl[2][0]:sl[2][1], sl[1][0]:sl[1][1], sl[0][0]:sl[0][1]] |= inside
    return mask
