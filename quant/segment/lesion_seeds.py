"""Where lesions are: ground-glass and solid seeds on the ~2 mm detection grid.

:mod:`quant.segment.lesions` delineates lesions at full resolution from the seeds found here.

* **Noise** (:func:`quiet`): a low-dose scan with a sharp kernel has 60-100 HU of noise, which puts
  vessel ridges and band voxels everywhere; such images are smoothed until the aerated lung's
  noise (:func:`noise_hu`) is at most :data:`_NOISE_TARGET_HU`.
* **Ground glass**: band voxels that are not vessel or next to a vessel, where the parenchyma
  around them (:func:`regional_hu`: a ~1 cm window, vessels and their shells left out) averages
  at least ``ggo_seed_hu``. A patch raises the regional mean; noise, vessel shells and the slightly
  denser dependent lung do not. Seed regions confined to the dependent layer (the posterior
  :data:`_RIM_MM` of a supine patient, :func:`dependent_rim`) or the layer along the mediastinum,
  whose regional mean never exceeds the seed level by :data:`_RIM_MARGIN_HU`, are gravity and
  partial volume, not disease, and are dropped.
* **Solid**: vessels are in the solid band too. A solid-band voxel is lesion when it lies in a
  blob thicker than ``vessel_max_diameter_mm`` (a morphological opening with a ball of that
  diameter, which no vessel survives) or within half that distance of ground glass.
* Components below ``min_component_ml`` are dropped.

Limits: the dependent layer is taken to be posterior (a supine patient); on a prone scan the rule
protects the wrong side.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import near, opening
from quant.protocol import LesionParameters

__all__ = [
    "detect_seeds", "noise_hu", "grid_noise_hu", "lung_noise_hu", "quiet", "regional_hu", "dependent_rim", "denoised",
]

_CUBE = np.ones((3, 3, 3), dtype=bool)
# Ground-glass seeds are judged on the mean of the parenchyma around them, vessels left out, over
# this window (detection voxels, ~1 cm): a patch raises it, noise and vessel shells do not ...
_REGIONAL_WINDOW = 5
# ... where at least this share of the window is parenchyma.
_REGIONAL_MIN_SHARE = 0.15
# Detection works on images whose noise (one SD, HU) in the aerated lung is at most this; noisier
# ones are smoothed with these Gaussians (detection voxels) in turn until they are.
_NOISE_TARGET_HU = 35.0
# ... measured on at least this many aerated-lung voxels (a few lung bases are mostly edge).
_NOISE_MIN_VOXELS = 5000
_NOISE_SIGMAS = (0.7, 1.0)
# Aerated lung on the detection grid, for its noise (HU).
_GRID_AERATED_HU = -700.0
# lung_noise_hu: contiguous mid-lung slices it measures on, and the HU below which lung is aerated.
_NOISE_SLICES = 9
_AERATED_HU = -750.0
# Dependent density (gravity) and partial volume along the mediastinum lie within this depth (mm);
# a ground-glass seed must reach deeper.
_RIM_MM = 10.0
# ... unless its regional mean somewhere exceeds the seed level by this (HU): dependent density
# stays below about -650 HU, ground glass of disease is -600..-300 HU.
_RIM_MARGIN_HU = 80.0


def detect_seeds(
    hu: NDArray[np.float32],
    inner: NDArray[np.bool_],
    lung: NDArray[np.bool_],
    vessel: NDArray[np.bool_],
    shell: NDArray[np.bool_],
    regional: NDArray[np.float32],
    smooth: NDArray[np.float32],
    sp: tuple[float, float, float],
    p: LesionParameters,
    medial: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Coarse ground-glass and solid lesion seeds (see the module docstring).

    Args:
        hu: detection-grid HU (z, y, x), after :func:`quiet`.
        inner: lung interior (the pleural rim left out).
        lung: lung on the detection grid.
        vessel, shell: vessel voxels and their one-voxel shell.
        regional: :func:`regional_hu` of ``hu``.
        smooth: :func:`denoised` ``hu``.
        sp: detection-grid spacing (z, y, x) mm.
        p: lesion parameters.
        medial: the mediastinal band (seeds confined to the layer along it are dropped).
    """
    voxel_ml = float(np.prod(sp)) / 1000.0
    ggo = inner & (hu >= p.ggo_min_hu) & (hu < p.ggo_max_hu) & ~shell
    ggo &= regional >= p.ggo_seed_hu
    if ggo.any():
        # Seeds confined to the dependent layer or the layer along the mediastinum, and only just
        # above the seed level there, are partial volume and gravity, not disease: a real patch
        # reaches deeper into the lung or is clearly denser.
        rim = dependent_rim(lung, _RIM_MM, sp)
        if medial is not None and medial.any():
            rim |= lung & near(medial, _RIM_MM, sp)
        labels, n = ndimage.label(ggo)
        keep = np.zeros(n + 1, dtype=bool)
        keep[np.unique(labels[ggo & (~rim | (regional >= p.ggo_seed_hu + _RIM_MARGIN_HU))])] = True
        keep[0] = False
        ggo &= keep[labels]
    solid = inner & (hu >= p.solid_min_hu) & ((hu < p.solid_max_hu) | (smooth < p.solid_max_hu))
    solid &= ~vessel
    radius = 0.5 * p.vessel_max_diameter_mm
    if solid.any():
        # As for ground glass, the pleural side does not erode (subpleural consolidation).
        blob = opening(solid | ~inner, radius, sp, centres=solid)
        if ggo.any():
            blob |= solid & near(ggo, radius, sp)
        solid = blob
    lesion = ggo | solid
    labels, n = ndimage.label(lesion)
    if n:
        sizes = np.bincount(labels.ravel()) * voxel_ml
        small = sizes < p.min_component_ml
        small[0] = False
        drop = small[labels]
        ggo &= ~drop
        solid &= ~drop
    return ggo, solid


def noise_hu(hu: NDArray[np.float32], region: NDArray[np.bool_]) -> float:
    """Robust noise level (HU, one standard deviation) of ``hu`` inside ``region``: the median
    absolute deviation of each voxel from the mean of its six face neighbours (which removes the
    image's slow variation), scaled to a Gaussian standard deviation. 0 when ``region`` is empty."""
    if not region.any():
        return 0.0
    neighbours = np.zeros_like(hu)
    for axis in range(3):
        neighbours += np.roll(hu, 1, axis) + np.roll(hu, -1, axis)
    d = (hu - neighbours / 6.0)[region]
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(7.0 / 6.0))


def quiet(hu: NDArray[np.float32], inner: NDArray[np.bool_]) -> NDArray[np.float32]:
    """``hu`` smoothed (Gaussian, in detection voxels) until the noise of the aerated lung interior
    is at most :data:`_NOISE_TARGET_HU` (standard-dose and low-dose soft-kernel scans measure 10-25
    HU on the ~2 mm grid, texture included): a low-dose scan with a sharp kernel has noise of 60-100
    HU, which puts vessel ridges and band voxels everywhere."""
    aerated = inner & (hu < _GRID_AERATED_HU)
    if np.count_nonzero(aerated) < _NOISE_MIN_VOXELS:
        return hu  # too little aerated lung to tell noise from texture
    for sigma in _NOISE_SIGMAS:
        if noise_hu(hu, aerated) <= _NOISE_TARGET_HU:
            break
        hu = ndimage.gaussian_filter(hu, sigma, truncate=2.5)
    return hu


def grid_noise_hu(hu: NDArray[np.float32], inner: NDArray[np.bool_]) -> float:
    """Noise (HU, :func:`noise_hu`) of the aerated lung interior of a detection grid: what
    :func:`quiet` holds to :data:`_NOISE_TARGET_HU`."""
    return noise_hu(hu, inner & (hu < _GRID_AERATED_HU))


def lung_noise_hu(hu: NDArray[np.int16], lung: NDArray[np.bool_]) -> float:
    """Noise (HU, one standard deviation, :func:`noise_hu`) of the full-resolution aerated lung
    interior, measured on the middle slices of the lung (enough voxels, a fraction of the time)."""
    zs = np.flatnonzero(lung.any(axis=(1, 2)))
    if zs.size < 3:
        return 0.0
    mid = (int(zs[0]) + int(zs[-1])) // 2
    slab = slice(max(mid - _NOISE_SLICES // 2, 0), mid + _NOISE_SLICES // 2 + 1)
    h = hu[slab].astype(np.float32)
    # Aerated by the local mean, not by the voxel's own HU, which would cut off the noise's upper tail.
    local = ndimage.uniform_filter(h, size=(1, 3, 3))
    aerated = ndimage.binary_erosion(lung[slab] & (local < _AERATED_HU), border_value=1)
    aerated[[0, -1]] = False  # the neighbour mean wraps around at the slab's ends
    return noise_hu(h, aerated)


def regional_hu(hu: NDArray[np.float32], parenchyma: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Mean HU of the ``parenchyma`` voxels (no vessel, no vessel shell, nothing solid) in a window
    of :data:`_REGIONAL_WINDOW` detection voxels around each voxel; -1000 HU where the window holds
    too little parenchyma to say."""
    weight = parenchyma.astype(np.float32)
    count = ndimage.uniform_filter(weight, _REGIONAL_WINDOW)
    total = ndimage.uniform_filter(hu * weight, _REGIONAL_WINDOW)
    ok = count > _REGIONAL_MIN_SHARE
    return np.where(ok, total / np.where(ok, count, 1.0), np.float32(-1000.0)).astype(np.float32)


def dependent_rim(lung: NDArray[np.bool_], depth_mm: float, sp) -> NDArray[np.bool_]:
    """Lung voxels within ``depth_mm`` of the posterior-most lung voxel of their (z, x) column:
    the dependent layer of a supine patient (array y runs anterior to posterior)."""
    ny = lung.shape[1]
    y = np.arange(ny).reshape(1, -1, 1)
    post = np.max(np.where(lung, y, -1), axis=1, keepdims=True)
    return lung & (y > post - depth_mm / sp[1])


def denoised(hu: NDArray[np.float32]) -> NDArray[np.float32]:
    """3×3×3 mean of the detection-grid HU: what decides the solid band's upper bound, where noise
    scatters single voxels of dense consolidation (mean +20..+50 HU) above it."""
    return ndimage.uniform_filter(hu, size=3)
