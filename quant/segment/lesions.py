"""Automatic ground-glass / solid lesion segmentation inside the lung mask.

Bands (HU) come from :class:`quant.protocol.LesionParameters`: ground glass ``ggo_min_hu`` ..
``ggo_max_hu``, solid ``solid_min_hu`` .. ``solid_max_hu`` (lower bound inclusive).

Three steps:

1. **Vessels** (:mod:`quant.segment.vessels`) on a ~2 mm grid of block means: thin blood-dense
   structures (a thick one is airless lung: dense consolidation is as dense as blood) and the
   bright ridges of vessels too thin to reach blood density. A vessel and its one-voxel
   partial-volume shell are never lesion seeds and never carry lesion growth.

2. **Detection** (seeds, :mod:`quant.segment.lesion_seeds`) on the same grid: noise control, ground glass
   from the regional parenchyma mean, solid blobs thicker than a vessel, small specks dropped.
   Only the lung interior is used, so the partial-volume rim at the pleura is not mistaken for
   ground glass. On a noisy scan the regional mean is taken before the noise control smoothed the
   grid, with the vessels found there (:func:`_parenchyma_hu`).

3. **Delineation** at full resolution. Seeds grow through connected band voxels of the lung
   interior that are not vessel, at most ``_GROWTH_MM`` (geodesic) from the seed (beyond that,
   band voxels connect only through thin paths such as dependent density along the posterior
   pleura; along z in millimetres too, on thick slices), then one grid voxel further (the pleural
   rim). Lung voxels there take the band of their own HU (on a noisy scan, the mean of the voxel
   and its neighbours, :func:`_tissue_hu`: a band holds tissue, not noise), so the edge is exact to
   the voxel, with one rule for partial volume: a voxel counts only when its HU
   is past ``edge_fraction`` of the way from the local aerated-lung HU to the local lesion HU
   (the half-maximum edge, as for the lung surface; a fixed -750 HU threshold would count the
   blurred rim around every lesion). On the outermost lung layer (partial volume with the wall)
   only HU above ``_SURFACE_MIN_HU`` counts, or above ``_SURFACE_CAP_MIN_HU`` where the voxel caps
   lesion lying right below it (a subpleural patch reaches the pleura). Near detected solid, the
   band's upper bound ``solid_max_hu`` is tested on the denoised (3×3×3 mean) detection-grid HU:
   dense consolidation (+20..+50 HU) has a fifth of its voxels above +50 HU from noise alone.
   Finally, voxels on the outside of a lesion whose 3×3×3 mean HU lies in the fat band are
   peeled off (layers up to ``_PEEL_MM`` deep): partial volume with mediastinal or chest-wall fat,
   or, on thick slices, with the aerated lung above and below, is not lesion tissue.

Limits: those of the seeds (:mod:`quant.segment.lesion_seeds`); growth stops 10 mm beyond them, which
under-counts very large confluent lesions by a few points of lung.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.distance import near
from quant.labels import GGO, SOLID, LesionMasks, LungMasks
from quant.protocol import LesionParameters, Protocol, default_protocol
from quant.segment.coarse_grid import coarse_grid
from quant.segment.lesion_seeds import denoised, detect_seeds, grid_noise_hu, lung_noise_hu, quiet, regional_hu
from quant.segment.pleura import mediastinal_band
from quant.segment.vessels import vessel_mask
from quant.volume import Volume
from quant.voxel_box import padded_box

__all__ = ["segment_lesions", "LESION_GRID_MM"]

LESION_GRID_MM = 2.0
# Lesion voxels on the outside of a lesion whose 3x3x3 mean HU is fat-like are peeled off, up to
# this depth (mm, in voxel layers of the in-plane spacing; on thick slices a layer is a slice).
_PEEL_MM = 2.0
# On the outermost lung voxel layer, parenchyma/wall partial volume reaches ground-glass HU; only
# voxels denser than this (HU) are taken as lesion there.
_SURFACE_MIN_HU = -450.0
# ... or denser than this (HU) where it caps lesion that lies right below it.
_SURFACE_CAP_MIN_HU = -520.0
# Reference levels of the half-maximum lesion edge: confident ground glass is at least this dense
# (HU; 50 HU above the band's lower bound, clear of the blurred rim) and below the solid band ...
_CORE_MIN_HU = -700.0
# ... and both references are local means over this window (detection-grid voxels, ~1 cm).
_EDGE_WINDOW = 5
# Aerated lung HU assumed where a lung has no aerated voxel left at all.
_AERATED_HU = -850.0
# A lesion's edge lies within this distance (mm, geodesic through band voxels) of its detected
# core; beyond it, band voxels connect only through thin paths (dependent density along the
# posterior pleura, partial volume along fissures), which are not lesion.
_GROWTH_MM = 10.0
# Above this full-resolution noise of the aerated lung (HU; standard-dose scans measure 10-25,
# low-dose sharp-kernel scans 60-100), the band tests read a local mean rather than the voxel ...
_NOISY_HU = 40.0
# ... over the slices above and below too where slices are at most this many pixels thick.
_ISOTROPIC_RATIO = 1.5
# Vessel ridges are told from noise on the unsmoothed detection grid while its noise is at most
# this share of vessel_ridge_hu.
_RIDGE_NOISE_SHARE = 0.5
_CUBE = np.ones((3, 3, 3), dtype=bool)
_FACES = ndimage.generate_binary_structure(3, 1)

Step = Callable[[float, str], None]


def segment_lesions(
    volume: Volume, lungs: LungMasks, protocol: Protocol | None = None, *, step: Step | None = None
) -> LesionMasks:
    """Ground-glass (label 1) and solid (label 2) lesions inside ``lungs``, axis order (z, y, x).

    Args:
        volume: CT volume in HU.
        lungs: lung labels on the volume's grid; lesions are only found inside them.
        protocol: HU bands, minimum component volume (mL), vessel diameter and smoothing (mm).
        step: optional ``step(fraction, text)`` progress/cancellation hook.
    """
    protocol = protocol or default_protocol()
    p = protocol.lesions
    if lungs.labels.shape != volume.shape:
        raise ValueError("lung labels must have the volume's shape (z, y, x)")
    out = np.zeros(volume.shape, dtype=np.uint8)
    lung_full = lungs.labels > 0
    if not lung_full.any():
        return LesionMasks(out)
    grid0 = coarse_grid(volume.shape, volume.spacing, LESION_GRID_MM)
    box = _aligned_bbox(lung_full, grid0.factors)
    hu = volume.hu[box]
    lung = lung_full[box]
    grid = coarse_grid(hu.shape, volume.spacing, LESION_GRID_MM)
    if step:
        step(0.1, "averaging on the detection grid")
    mean_hu = grid.block_mean(hu)
    sp = grid.spacing
    sigma = [p.smoothing_sigma_mm / s for s in sp]
    if max(sigma) >= 0.5:
        mean_hu = ndimage.gaussian_filter(mean_hu, sigma, truncate=2.5)
    lung_share = grid.block_mean(lung.view(np.uint8))
    lung_c = lung_share > 0.5
    inner = ndimage.binary_erosion(lung_share > 0.999, border_value=0)
    unsmoothed = mean_hu
    mean_hu = quiet(mean_hu, inner)
    vessel = vessel_mask(mean_hu, inner, p, sp)
    if step:
        step(0.4, "detecting ground glass and consolidation")
    medial = mediastinal_band(grid.sample(lungs.labels[box]))
    shell = ndimage.binary_dilation(vessel, structure=_CUBE) if vessel.any() else vessel
    regional, raw_shell = _parenchyma_hu(unsmoothed, mean_hu, inner, shell, p, sp)
    smooth = denoised(mean_hu)
    ggo_c, solid_c = detect_seeds(mean_hu, inner, lung_c, vessel, shell | raw_shell, regional, smooth, sp, p, medial)
    if step:
        step(0.7, "delineating lesions")
    any_c = ggo_c | solid_c
    if not any_c.any():
        return LesionMasks(out)
    interior = _interior(lung)
    # Growth runs through lung in either band that is neither vessel nor a vessel's partial-volume
    # shell: through the whole connected lesion in blocks clear of the pleural rim (where partial
    # volume with the wall is in the band everywhere), then one block into the rim.
    band = lung_c & (mean_hu >= p.ggo_min_hu) & (mean_hu < p.solid_max_hu)
    band &= ~ndimage.binary_dilation(vessel, structure=_FACES)
    domain = band & (grid.block_mean(interior.view(np.uint8)) > 0.999)
    core = _geodesic_grow(any_c, domain | any_c, _GROWTH_MM, sp)
    grown = ndimage.binary_dilation(core, mask=band) | core
    # One upsampled code: bit 0 = lesion may be here, bit 1 = solid may be here, bit 2 = the
    # denoised HU is below the solid band's upper bound (inside dense consolidation, noise puts
    # single voxels above it; the band bounds tissue HU, not noise).
    near_solid = near(solid_c, 2.0 * max(sp), sp)
    below_top = near_solid & (smooth < p.solid_max_hu) & ~vessel
    allow = (
        ndimage.binary_dilation(grown).view(np.uint8)
        | (near_solid.view(np.uint8) << 1)
        | (below_top.view(np.uint8) << 2)
    )
    del near_solid, below_top
    allow = grid.upsample(allow)
    allow_any = (allow & 1).view(bool)
    allow_solid = (allow & 2) != 0
    below_top = (allow & 4) != 0
    del allow
    edge_hu = grid.upsample(_edge_threshold(mean_hu, core, inner, p))
    sub = out[box]
    # Next to a lesion, a voxel in either band past the half-maximum edge is lesion: ground glass
    # unless it is in the solid band next to detected solid (partial volume with the chest wall
    # lifts ground glass into the solid band at the pleura).
    # On a noisy scan each voxel is classified by its tissue, not by its noise (see :func:`_tissue_hu`).
    tissue, cube = _tissue_hu(hu, lung & allow_any, volume.spacing, lung_noise_hu(hu, lung) > _NOISY_HU)
    in_bands = (tissue >= edge_hu) & ((tissue < p.solid_max_hu) | below_top) & lung & allow_any
    del edge_hu
    # The outermost lung voxel layer is partial volume with the chest wall / mediastinum: there,
    # only ground glass denser than the partial-volume mix of parenchyma and soft tissue counts.
    surface = in_bands & ~interior
    in_bands &= interior
    # A surface voxel in the band is lesion when dense enough for partial volume not to explain
    # it, or when it caps lesion lying right below it (a subpleural patch reaches the pleura).
    in_bands |= surface & (
        (tissue >= _SURFACE_MIN_HU) | ((tissue >= _SURFACE_CAP_MIN_HU) & _touches(in_bands))
    )
    if in_bands.any():
        layers = max(1, int(round(_PEEL_MM / min(volume.spacing[1:]))))
        in_bands = _peel_fat_like(
            in_bands, hu, tissue if cube else None, layers, protocol.lungs.fat_min_hu, protocol.lungs.fat_max_hu
        )
    sub[in_bands] = GGO
    sub[in_bands & allow_solid & (tissue >= p.solid_min_hu)] = SOLID
    return LesionMasks(out)


def _parenchyma_hu(
    unsmoothed: NDArray[np.float32],
    quieted: NDArray[np.float32],
    inner: NDArray[np.bool_],
    shell: NDArray[np.bool_],
    p: LesionParameters,
    sp: tuple[float, float, float],
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Regional parenchyma HU (:func:`regional_hu`, vessels and their shells left out) on the
    detection grid, from the image before :func:`quiet` smoothed it, and the vessel shells found
    there (``shell`` itself when nothing was smoothed).

    Smoothing a noisy scan spreads vessel blood into the parenchyma around it and flattens the
    vessel ridges below detection (on a real 80 HU-noise scan vessels went from 7 % to 1 % of the
    lung): the parenchyma mean then rose by 30-50 HU, above the ground-glass seed level in
    dependent lung. Unsmoothed, the vessels are found and left out, and the window's mean averages
    the noise away, as long as the noise is at most :data:`_RIDGE_NOISE_SHARE` of
    ``vessel_ridge_hu``; noisier, noise makes ridges everywhere and the smoothed image is used.
    """
    image = quieted
    if unsmoothed is not quieted and grid_noise_hu(unsmoothed, inner) <= _RIDGE_NOISE_SHARE * p.vessel_ridge_hu:
        image = unsmoothed
        vessel = vessel_mask(unsmoothed, inner, p, sp)
        shell = ndimage.binary_dilation(vessel, structure=_CUBE) if vessel.any() else vessel
    return regional_hu(image, inner & ~shell & (image < p.ggo_max_hu)), shell


def _tissue_hu(
    hu: NDArray[np.int16], where: NDArray[np.bool_], spacing: tuple[float, float, float], noisy: bool
) -> tuple[NDArray[np.int16] | NDArray[np.float32], bool]:
    """HU (z/y/x) that the band tests read, and whether it is the 3×3×3 mean of ``hu``.

    ``hu`` itself unless ``noisy``; then, at ``where`` (raw HU elsewhere), the mean of each voxel and
    its in-plane neighbours (3×3), and of the slices above and below too where slices are no
    thicker than :data:`_ISOTROPIC_RATIO` × the pixel (on thick slices that would mix lung above
    with tissue below).

    A voxel's HU is tissue plus noise; on a low-dose sharp-kernel scan (noise 60-100 HU) the noise
    alone moves a third of the ground-glass voxels across the half-maximum edge or out of the
    band. A symmetric mean divides the noise by 3 (by 5 in 3-D) and leaves the half-maximum
    crossing of a straight edge where it is; at standard noise (10-25 HU) it costs more than it
    gains: it spreads vessel HU into the lung next to a lesion.
    """
    cube = spacing[0] <= _ISOTROPIC_RATIO * min(spacing[1:])
    if not noisy:
        return hu, False
    out = hu.astype(np.float32)
    if where.any():
        box = padded_box(where, 1)
        out[box] = ndimage.uniform_filter(out[box], size=(3 if cube else 1, 3, 3))
    return out, cube


def _peel_fat_like(
    lesion: NDArray[np.bool_],
    hu: NDArray[np.int16],
    cube_mean: NDArray[np.float32] | None,
    layers: int,
    fat_min_hu: float,
    fat_max_hu: float,
) -> NDArray[np.bool_]:
    """``lesion`` without its outer voxels that are partial volume with fat, peeled up to
    ``layers`` times.

    A voxel is peeled when it is on the outside of the lesion and its 3×3×3 mean HU is fat-like:
    partial volume between a lesion and mediastinal or chest-wall fat, or, on thick slices, with the
    aerated lung above and below, averages to fat HU and is not lesion tissue. ``cube_mean``: that
    3×3×3 mean of ``hu``, right at least on ``lesion`` (None: computed here).
    """
    box = padded_box(lesion, 1)
    sub = lesion[box].copy()
    # The 3x3x3 mean, unless the caller has it already.
    mean = cube_mean[box] if cube_mean is not None else ndimage.uniform_filter(hu[box].astype(np.float32), size=3)
    fat_like = (mean >= fat_min_hu) & (mean <= fat_max_hu)
    for _ in range(layers):
        outer = sub & ~_interior(sub)
        drop = outer & fat_like
        if not drop.any():
            break
        sub &= ~drop
    out = lesion.copy()
    out[box] = sub
    return out


def _geodesic_grow(
    seeds: NDArray[np.bool_], domain: NDArray[np.bool_], distance_mm: float, sp: tuple[float, float, float]
) -> NDArray[np.bool_]:
    """``seeds`` grown through ``domain`` by about ``distance_mm`` along face-connected paths: one
    in-plane voxel per step, and one slice every ``slice spacing / in-plane spacing`` steps, so a
    thick-slice grid does not grow further along z than in plane."""
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = ndimage.generate_binary_structure(2, 1)
    every = max(1, int(round(sp[0] / min(sp[1:]))))
    steps = max(1, int(round(distance_mm / min(sp[1:]))))
    out = seeds.copy()
    for i in range(1, steps + 1):
        structure = _FACES if i % every == 0 else in_plane
        out = ndimage.binary_dilation(out, structure=structure, mask=domain)
    return out


def _edge_threshold(
    hu: NDArray[np.float32], lesion: NDArray[np.bool_], inner: NDArray[np.bool_], p: LesionParameters
) -> NDArray[np.int16]:
    """Per-voxel lowest lesion HU on the detection grid: ``edge_fraction`` of the way from the
    local aerated-lung HU to the local ground-glass HU, never below ``ggo_min_hu``.

    Local means (window :data:`_EDGE_WINDOW`) of confident ground glass of ``lesion`` and of
    aerated interior lung away from it; where either has no sample nearby, its global mean, and
    nominal levels where there is none at all.
    """
    glass = lesion & (hu >= _CORE_MIN_HU) & (hu < p.ggo_max_hu)
    aerated = inner & (hu < p.ggo_min_hu) & ~ndimage.binary_dilation(lesion)
    lesion_hu = _local_mean(hu, glass, 0.5 * (p.ggo_min_hu + p.ggo_max_hu))
    lung_hu = _local_mean(hu, aerated, _AERATED_HU)
    edge = lung_hu + np.float32(p.edge_fraction) * (lesion_hu - lung_hu)
    np.maximum(edge, np.float32(p.ggo_min_hu), out=edge)
    return np.ceil(edge).astype(np.int16)


def _local_mean(hu: NDArray[np.float32], mask: NDArray[np.bool_], nominal: float) -> NDArray[np.float32]:
    """Mean of ``hu`` over ``mask`` in a window around each voxel; the global mean where the
    window holds none of ``mask``; ``nominal`` (HU) everywhere when ``mask`` is empty (float32)."""
    if not mask.any():
        return np.full(hu.shape, nominal, dtype=np.float32)
    weight = mask.astype(np.float32)
    count = ndimage.uniform_filter(weight, _EDGE_WINDOW)
    total = ndimage.uniform_filter(hu * weight, _EDGE_WINDOW)
    fallback = np.float32(hu[mask].mean())
    ok = count > 1e-3
    return np.where(ok, total / np.where(ok, count, 1.0), fallback).astype(np.float32)


def _interior(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Voxels of ``mask`` whose six face neighbours are in ``mask`` too (outside the array counts
    as inside): a 6-connected erosion by shifted in-place ANDs, cheaper than ndimage on ~10⁸ voxels.
    """
    out = mask.copy()
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        out[tuple(lo)] &= mask[tuple(hi)]
        out[tuple(hi)] &= mask[tuple(lo)]
    return out


def _touches(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Voxels with at least one face neighbour in ``mask`` (not counting themselves), by shifted
    in-place ORs like :func:`_interior`.
    """
    out = np.zeros_like(mask)
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        out[tuple(lo)] |= mask[tuple(hi)]
        out[tuple(hi)] |= mask[tuple(lo)]
    return out


def _aligned_bbox(mask: NDArray[np.bool_], factors: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    """Bounding box of ``mask`` grown by one block, starting on a block boundary."""
    sl = []
    for axis, f in enumerate(factors):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        lo = max((int(hit[0]) // f - 1) * f, 0)
        hi = min(int(hit[-1]) + f + 1, mask.shape[axis])
        sl.append(slice(lo, hi))
    return tuple(sl)  # type: ignore[return-value]
