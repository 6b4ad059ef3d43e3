"""The patient of a phantom: anatomy, vessels, disease field (size-independent, cached per seed),
the tissue classes and lung sides on an output grid, and the lesion labels.

:func:`quant.phantom.make_scan` turns these into an image with exact truth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.phantom.anatomy import Anatomy, Tissue, classify
from quant.phantom.coverage import lattice_grid
from quant.phantom.extras import NO_EXTRAS, Extras, add_slice_extras
from quant.phantom.grid import Grid, SeparableUpsampler, coarse_grid, grid_for_size
from quant.phantom.lesions import disease_field, smooth_noise
from quant.phantom.pleural import add_pleural_extras
from quant.phantom.vessels import LungLookup, Segment, grow_trees, rasterize

__all__: list[str] = []  # internal to quant.phantom (make_scan is the entry point)


@dataclass(frozen=True)
class _Patient:
    """Size-independent random content of one patient (depends on the seed only)."""

    anatomy: Anatomy
    lookup: LungLookup
    vessels: tuple[Segment, ...]
    disease: NDArray[np.float32]   # on the coarse grid
    solid: NDArray[np.float32]     # smoothed disease field: where consolidation forms
    texture: NDArray[np.float32]   # on the coarse grid


def _lookup(anat: Anatomy) -> LungLookup:
    g = coarse_grid()
    side = np.zeros(g.shape, dtype=np.uint8)
    X, Y = np.meshgrid(g.x, g.y)
    for k, z in enumerate(g.z):
        if -125.0 < z < anat.apex + 5.0:  # lungs never reach beyond
            side[k] = classify(anat, X, Y, float(z))[1]
    depth = np.zeros(g.shape, dtype=np.float32)
    idx = np.argwhere(side > 0)
    lo, hi = np.maximum(idx.min(axis=0) - 2, 0), idx.max(axis=0) + 3
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    depth[box] = ndimage.distance_transform_edt(side[box] > 0, sampling=g.spacing)
    return LungLookup(g, side, depth)


@lru_cache(maxsize=4)  # ~30 MB per patient; serial scans of one patient hit the cache
def _patient(seed: int, consolidation: float) -> _Patient:
    anat = Anatomy.from_seed(seed)
    lookup = _lookup(anat)
    zc = anat.carina_z
    ytr = float(anat.trachea_y(zc))
    hila = {
        RIGHT_LUNG: np.array([-16.0, ytr - 12.0, zc - 14.0]),
        LEFT_LUNG: np.array([20.0, ytr - 10.0, zc - 20.0]),
    }
    vessels = tuple(grow_trees(lookup, hila, seed))
    disease = disease_field(lookup, seed, consolidation)
    # Consolidation forms in the cores of large, confluent lesions rather than in every small
    # ground-glass focus: rank solid candidates by a smoothed (~6 mm) disease field.
    solid = ndimage.gaussian_filter(disease, 2.0, truncate=2.5)
    texture = smooth_noise(lookup.grid.shape, np.random.default_rng([seed, 0x7E7]), 1.3)
    return _Patient(anat, lookup, vessels, disease, solid, texture)


def _separate_lungs(side: NDArray[np.uint8], tissue: NDArray[np.uint8], grid: Grid) -> None:
    """Make sure no left-lung voxel is 26-adjacent to a right-lung voxel (in place).

    Where the anterior junction line is thinner than the voxel diagonal, the offending left-lung
    voxels become junction tissue (mediastinum), so the two lungs stay apart by at least one voxel
    in the truth *and* in the image.
    """
    x = grid.x
    band = np.flatnonzero(np.abs(x - 2.0) < 12.0)
    if band.size == 0:
        return
    sl = (slice(None), slice(None), slice(band[0], band[-1] + 1))
    sub = side[sl]
    near_right = ndimage.binary_dilation(sub == RIGHT_LUNG, structure=np.ones((3, 3, 3), bool))
    clash = near_right & (sub == LEFT_LUNG)
    if clash.any():
        sub[clash] = 0
        tissue[sl][clash] = Tissue.MEDIASTINUM


def _classify_grid(anat: Anatomy, grid: Grid, extras: Extras = NO_EXTRAS) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    tissue = np.empty(grid.shape, dtype=np.uint8)
    side = np.empty(grid.shape, dtype=np.uint8)
    X, Y = np.meshgrid(grid.x, grid.y)
    for k, z in enumerate(grid.z):
        # Only the body's bounding box needs the anatomy; the rest is outside air.
        a, b = anat.body_axes(float(z))
        ys = np.flatnonzero(np.abs(grid.y) <= b + 2.0)
        xs = np.flatnonzero(np.abs(grid.x) <= a + 2.0)
        box = (slice(ys[0], ys[-1] + 1), slice(xs[0], xs[-1] + 1))
        tissue[k] = Tissue.AIR
        side[k] = 0
        tissue[k][box], side[k][box] = classify(anat, X[box], Y[box], float(z))
        if extras.per_slice:
            add_slice_extras(anat, X[box], Y[box], float(z), tissue[k][box], side[k][box], extras)
    if extras.pleural:
        add_pleural_extras(anat, grid, tissue, side, extras)
    _separate_lungs(side, tissue, grid)
    return tissue, side


def _anatomy_on_grid_uncached(
    seed: int, consolidation: float, size: str, extras: Extras = NO_EXTRAS, window: tuple[int, int] | None = None
):
    patient = _patient(seed, consolidation)
    grid = grid_for_size(size) if window is None else lattice_grid(grid_for_size(size), *window)
    # The anterior junction line (four pleural layers, ~1.5 mm) must stay visible at every
    # resolution: at least ~1.6 voxels wide.
    anat = replace(patient.anatomy, junction_gap=max(1.5, 1.6 * grid.spacing[2]))
    tissue, side = _classify_grid(anat, grid, extras)
    vessel = rasterize(list(patient.vessels), grid, min_radius_mm=0.5 * min(grid.spacing[1:]))
    for a in (tissue, side, vessel):
        a.flags.writeable = False  # shared between scans of one patient
    return tissue, side, vessel


_anatomy_small_cache = lru_cache(maxsize=8)(_anatomy_on_grid_uncached)


def _anatomy_on_grid(
    seed: int, consolidation: float, size: str, extras: Extras = NO_EXTRAS, window: tuple[int, int] | None = None
):
    """Tissue classes, lung sides and vessel mask of a patient on a size's grid (read-only).

    ``window`` (lattice slices lo..hi, see :mod:`quant.phantom.coverage`) replaces the size's
    standard grid. Serial scans of one patient share their anatomy; small grids are cached (a few
    MB each), full grids (~230 MB) are recomputed.
    """
    if size == "small":
        return _anatomy_small_cache(seed, consolidation, size, extras, window)
    return _anatomy_on_grid_uncached(seed, consolidation, size, extras, window)


def _lesion_labels(
    patient: _Patient, grid: Grid, side: NDArray[np.uint8], fixed: NDArray[np.bool_] | None, pct: float, share: float
) -> NDArray[np.uint8]:
    """Lesion labels: the disease field thresholded at the quantile giving ``pct`` % of the lung.

    ``fixed`` (airless lung: atelectasis, mediastinal consolidation) is solid lesion whatever the
    field; it counts towards ``pct``, and the field fills the rest (if any). ``share`` is the solid
    fraction of the field's lesions.
    """
    lesion = np.zeros(grid.shape, dtype=np.uint8)
    up = SeparableUpsampler(patient.lookup.grid, grid)
    n_fixed = 0 if fixed is None else int(fixed.sum())
    if pct > 0:
        values, solid_values, cands = [], [], []
        n_lung = 0
        for k, (f, fs) in enumerate(zip(up.slice_iter(patient.disease), up.slice_iter(patient.solid))):
            in_lung = side[k] > 0
            n_lung += int(in_lung.sum()) if n_fixed else 0
            cand = in_lung if fixed is None else in_lung & ~fixed[k]
            cands.append(cand)
            values.append(f[cand])
            solid_values.append(fs[cand])
        allv = np.concatenate(values)
        if not n_fixed:
            n_lung = allv.size
        n_les = int(round(n_lung * pct / 100.0)) - n_fixed
        if n_les > 0:
            t = np.partition(allv, allv.size - n_les)[allv.size - n_les]
            les_solid = np.concatenate(solid_values)[allv >= t]
            n_sol = int(round(les_solid.size * share))
            ts = np.partition(les_solid, les_solid.size - n_sol)[les_solid.size - n_sol] if n_sol > 0 else np.inf
            for k, (v, vs) in enumerate(zip(values, solid_values)):
                if v.size:
                    les = v >= t
                    lab = np.where(les & (vs >= ts), SOLID, np.where(les, GGO, 0)).astype(np.uint8)
                    lesion[k][cands[k]] = lab
        del values, solid_values, allv
    if n_fixed:
        lesion[fixed] = SOLID
    return lesion
