"""Scan coverage along z: cut apices, lung bases only (an abdominal CT), or any z range.

Every phantom size has a standard grid (:data:`quant.phantom.grid.SIZES`) that covers the whole
lung. Its slice positions extend to an infinite *z lattice* (same spacing, same phase), and a cut or
moved coverage is a run of lattice slices ``lo..hi`` (indices relative to the standard slice 0;
negative = below the standard grid). The patient is built on the union of the standard grid and the
window, so its lesions and effusion are those of the whole lung, and then cropped: the labels of a
cut scan are exactly a z-crop of those of the full-coverage scan of the same patient, and its
origin is that of its first slice (only the image noise differs: it is drawn for the slices
imaged, the window and a blur margin of :data:`BLUR_MARGIN_SLICES`).
"""

from __future__ import annotations

import math

import numpy as np

from quant.phantom.anatomy import Anatomy
from quant.phantom.errors import PhantomError
from quant.phantom.grid import Grid
from quant.phantom.vessels import LungLookup

__all__ = [
    "COVERAGES", "APEX_CUT_MM", "BASES_ONLY_LUNG_ML", "BASES_ONLY_EXTENT_MM", "BLUR_MARGIN_SLICES",
    "z_window", "lattice_grid",
]

#: Named coverages of :func:`quant.phantom.make_scan`.
COVERAGES = ("full", "apex_cut", "bases_only")
#: "apex_cut": the top slice lies this far (mm) below the lung apices.
APEX_CUT_MM = 30.0
#: "bases_only": about this much lung (mL) is in the scan ...
BASES_ONLY_LUNG_ML = 100.0
#: ... and the scan reaches this far (mm) down from its top slice (upper abdomen).
BASES_ONLY_EXTENT_MM = 200.0
#: Extra slices imaged beyond each end of a cut window (the blur sees the anatomy beyond the cut).
BLUR_MARGIN_SLICES = 3


def _preset_range(preset: str, base: Grid, anat: Anatomy, lookup: LungLookup) -> tuple[float, float]:
    if preset == "apex_cut":
        return float(base.z[0]), float(anat.apex) - APEX_CUT_MM
    # bases_only: the top slice where the lung below it first reaches BASES_ONLY_LUNG_ML.
    g = lookup.grid
    per_slice = (lookup.side > 0).sum(axis=(1, 2)) * float(np.prod(g.spacing)) / 1000.0
    k = int(np.searchsorted(np.cumsum(per_slice), BASES_ONLY_LUNG_ML))
    top = float(g.z[min(k, len(g.z) - 1)])
    return top - BASES_ONLY_EXTENT_MM, top


def z_window(
    base: Grid, anat: Anatomy, lookup: LungLookup, coverage: str, z_range_mm: tuple[float, float] | None
) -> tuple[int, int] | None:
    """Lattice slices (lo, hi), inclusive, of a coverage; None for the standard grid.

    Args:
        base: the size's standard grid.
        anat: the patient (for the presets).
        lookup: the patient's coarse lung look-up (for "bases_only").
        coverage: one of :data:`COVERAGES`.
        z_range_mm: (bottom, top) in mm of the phantom frame (z up), or None; not with a preset.
    """
    if coverage not in COVERAGES:
        raise PhantomError(f"unknown coverage {coverage!r}; use one of {list(COVERAGES)}")
    if z_range_mm is not None and coverage != "full":
        raise PhantomError("give either a coverage preset or z_range_mm, not both")
    if z_range_mm is None and coverage == "full":
        return None
    if z_range_mm is not None:
        lo_mm, hi_mm = (float(v) for v in z_range_mm)
        if not (math.isfinite(lo_mm) and math.isfinite(hi_mm)) or hi_mm <= lo_mm:
            raise PhantomError(f"z_range_mm must be (bottom, top) with bottom < top, got {tuple(z_range_mm)!r}")
    else:
        lo_mm, hi_mm = _preset_range(coverage, base, anat, lookup)
    z0, sz = float(base.z[0]), base.spacing[0]
    lo = math.ceil((lo_mm - z0) / sz - 1e-6)
    hi = math.floor((hi_mm - z0) / sz + 1e-6)
    if hi - lo + 1 < 2:
        raise PhantomError(f"z range {lo_mm:g}..{hi_mm:g} mm holds fewer than two slices")
    if (lo, hi) == (0, base.shape[0] - 1):
        return None
    return lo, hi


def lattice_grid(base: Grid, lo: int, hi: int) -> Grid:
    """The grid of lattice slices ``lo..hi`` (inclusive) of ``base``'s z lattice."""
    if (lo, hi) == (0, base.shape[0] - 1):
        return base
    n, sz = hi - lo + 1, base.spacing[0]
    z0 = -(base.shape[0] - 1) / 2.0 * sz + base.z_centre
    return Grid((n, base.shape[1], base.shape[2]), base.spacing, z_centre=z0 + sz * (lo + hi) / 2.0)
