"""Assemble a phantom chest CT: :func:`make_scan` → :class:`PhantomScan` (image + exact truth)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from quant.errors import LungReadError
from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.phantom.anatomy import BONE_TISSUES, Anatomy, Tissue, classify
from quant.phantom.grid import SIZES, Grid, SeparableUpsampler, coarse_grid, grid_for_size
from quant.phantom.image import SOLID_HU, SOLID_TEXTURE_HU, blur_and_noise, slice_hu
from quant.phantom.lesions import disease_field, smooth_noise
from quant.phantom.vessels import LungLookup, Segment, grow_trees, rasterize
from quant.volume import Volume

__all__ = ["PhantomScan", "PhantomError", "make_scan", "truth_metrics", "OBLIQUE_DEGREES", "TABLE_CENTRE_LPS"]

#: LPS position (mm) of the centre of the scanned field (a plausible table position).
TABLE_CENTRE_LPS = (0.0, 0.0, -160.0)
#: Tilt (degrees, about the patient's left-right axis) of an oblique phantom's direction.
OBLIQUE_DEGREES = 15.0
MAX_LESION_PCT = 60.0


class PhantomError(LungReadError):
    """A phantom was requested with an impossible parameter (unknown size, lesion % out of range)."""


@dataclass(eq=False)
class PhantomScan:
    """A synthetic chest CT with exact ground truth. All arrays (z, y, x), the volume's shape.

    Attributes:
        volume: the CT (int16 HU) with its LPS geometry.
        lung_labels: uint8, 0 outside, 1 right lung, 2 left lung (lesions and vessels inside the
            lungs included; trachea and main bronchi excluded).
        lesion_labels: uint8, 0 none, 1 ground-glass, 2 solid; only inside the lungs.
        bone: ribs, sternum and spine.
        airway: trachea and main-bronchus lumen.
        truth: volumes (mL) and percentages of lung volume, from the label maps (see
            :func:`truth_metrics`).
        params: the generating parameters (size, seed, requested lesion %, ...).
        tissue: uint8 tissue classes (:class:`quant.phantom.anatomy.Tissue`) of the noise-free
            model, for tests of HU per tissue; None when loaded from disk.
    """

    volume: Volume
    lung_labels: NDArray[np.uint8]
    lesion_labels: NDArray[np.uint8]
    bone: NDArray[np.bool_]
    airway: NDArray[np.bool_]
    truth: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)
    tissue: NDArray[np.uint8] | None = None

    @property
    def lungs(self) -> NDArray[np.bool_]:
        """Both lungs (bool)."""
        return self.lung_labels > 0

    @property
    def lesion(self) -> NDArray[np.bool_]:
        """Any lesion, GGO or solid (bool)."""
        return self.lesion_labels > 0


def truth_metrics(lung_labels: NDArray[np.uint8], lesion_labels: NDArray[np.uint8], voxel_ml: float) -> dict[str, float]:
    """Lung and lesion volumes (mL) and lesion/solid % of lung volume (whole and per lung)."""
    counts = np.zeros(9, dtype=np.int64)
    for start in range(0, lung_labels.shape[0], 16):  # slabs: no int64 copy of the volume
        pair = lung_labels[start:start + 16] * np.uint8(3) + lesion_labels[start:start + 16]
        counts += np.bincount(pair.ravel(), minlength=9)[:9]
    n = counts.reshape(3, 3)  # n[lung side, lesion label]
    right, left = n[RIGHT_LUNG].sum(), n[LEFT_LUNG].sum()
    lung = right + left
    ggo = n[RIGHT_LUNG, GGO] + n[LEFT_LUNG, GGO]
    solid = n[RIGHT_LUNG, SOLID] + n[LEFT_LUNG, SOLID]

    def pct(a: float, b: float) -> float:
        return float(100.0 * a / b) if b else 0.0

    return {
        "lung_ml": float(lung * voxel_ml),
        "lung_left_ml": float(left * voxel_ml),
        "lung_right_ml": float(right * voxel_ml),
        "ggo_ml": float(ggo * voxel_ml),
        "solid_ml": float(solid * voxel_ml),
        "lesion_ml": float((ggo + solid) * voxel_ml),
        "lesion_pct": pct(ggo + solid, lung),
        "solid_pct": pct(solid, lung),
        "lesion_pct_left": pct(n[LEFT_LUNG, GGO] + n[LEFT_LUNG, SOLID], left),
        "lesion_pct_right": pct(n[RIGHT_LUNG, GGO] + n[RIGHT_LUNG, SOLID], right),
        "solid_pct_left": pct(n[LEFT_LUNG, SOLID], left),
        "solid_pct_right": pct(n[RIGHT_LUNG, SOLID], right),
    }


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


def _geometry(grid: Grid, oblique: bool) -> tuple[tuple[float, float, float], NDArray[np.float64]]:
    """Origin (LPS mm of voxel 0) and direction of the volume; the phantom frame is rotated for
    an oblique scan, so the array content is the same and only the patient geometry changes."""
    direction = np.eye(3)
    if oblique:
        a = np.deg2rad(OBLIQUE_DEGREES)
        direction = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    origin = np.asarray(TABLE_CENTRE_LPS) + direction @ np.asarray(grid.first_voxel_mm)
    return tuple(float(v) for v in origin), direction  # type: ignore[return-value]


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


def _classify_grid(anat: Anatomy, grid: Grid) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
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
    _separate_lungs(side, tissue, grid)
    return tissue, side


def _anatomy_on_grid_uncached(seed: int, consolidation: float, size: str):
    patient = _patient(seed, consolidation)
    grid = grid_for_size(size)
    # The anterior junction line (four pleural layers, ~1.5 mm) must stay visible at every
    # resolution: at least ~1.6 voxels wide.
    anat = replace(patient.anatomy, junction_gap=max(1.5, 1.6 * grid.spacing[2]))
    tissue, side = _classify_grid(anat, grid)
    vessel = rasterize(list(patient.vessels), grid, min_radius_mm=0.5 * min(grid.spacing[1:]))
    for a in (tissue, side, vessel):
        a.flags.writeable = False  # shared between scans of one patient
    return tissue, side, vessel


_anatomy_small_cache = lru_cache(maxsize=8)(_anatomy_on_grid_uncached)


def _anatomy_on_grid(seed: int, consolidation: float, size: str):
    """Tissue classes, lung sides and vessel mask of a patient on a size's grid (read-only).

    Serial scans of one patient share their anatomy; small grids are cached (a few MB each),
    full grids (~230 MB) are recomputed.
    """
    if size == "small":
        return _anatomy_small_cache(seed, consolidation, size)
    return _anatomy_on_grid_uncached(seed, consolidation, size)


def make_scan(
    size: str = "small",
    seed: int = 0,
    *,
    lesion_pct: float | None = None,
    noise_sigma: float = 20.0,
    consolidation: float = 0.0,
    oblique: bool = False,
    solid_share: float | None = None,
    noise_seed: int | None = None,
    solid_hu: float = SOLID_HU,
    solid_texture_hu: float = SOLID_TEXTURE_HU,
) -> PhantomScan:
    """A synthetic chest CT with lungs, vessels, COVID-like lesions and exact truth.

    Args:
        size: "small" (80×128×128 at 3.0×2.7×2.7 mm) or "full" (300×512×512 at 1.0×0.7×0.7 mm).
            Both depict the same patient for a given seed.
        seed: patient (anatomy, vessels, lesion layout) and, unless ``noise_seed``, noise.
        lesion_pct: target lesion volume, % of whole-lung volume (0 = no lesions, up to 60);
            None draws 5..30 % from the seed. Achieved to within a few voxels on the output grid.
        noise_sigma: standard deviation (HU) of the added Gaussian noise.
        consolidation: 0..1, strength of one extra large posterior-basal subpleural consolidation
            (right lower lobe).
        oblique: tilt the patient geometry by :data:`OBLIQUE_DEGREES` (same array, rotated
            direction).
        solid_share: fraction (0..1) of lesion volume that is solid; None draws 0.12..0.3.
        noise_seed: seed of the noise only (serial scans of one patient differ in noise).
        solid_hu: mean HU of the solid component / consolidation (-300..+50; real airless lung is
            about +20..+50, see :data:`quant.phantom.image.DENSE_SOLID_HU`).
        solid_texture_hu: texture amplitude (HU) of the solid component (0..60).

    Returns:
        A :class:`PhantomScan`; its ``truth`` is computed from its final label maps.
    """
    if size not in SIZES:
        raise PhantomError(f"unknown phantom size {size!r}; use one of {sorted(SIZES)}")
    rng = np.random.default_rng([seed, 0x5CA7])
    drawn_pct, drawn_share = float(rng.uniform(5.0, 30.0)), float(rng.uniform(0.12, 0.3))
    pct = drawn_pct if lesion_pct is None else float(lesion_pct)
    if not 0.0 <= pct <= MAX_LESION_PCT:
        raise PhantomError(f"lesion % must be between 0 and {MAX_LESION_PCT:g}, got {pct:g}")
    share = drawn_share if solid_share is None else float(solid_share)
    if not 0.0 <= share <= 1.0:
        raise PhantomError(f"solid share must be between 0 and 1, got {share:g}")
    if noise_sigma < 0:
        raise PhantomError(f"noise sigma must be >= 0 HU, got {noise_sigma:g}")
    if not -300.0 <= solid_hu <= 50.0 or not 0.0 <= solid_texture_hu <= 60.0:
        raise PhantomError(
            f"solid HU must be in -300..+50 and its texture in 0..60 HU, got {solid_hu:g} / {solid_texture_hu:g}"
        )

    grid = grid_for_size(size)
    patient = _patient(int(seed), float(consolidation))

    tissue, side, vessel = _anatomy_on_grid(int(seed), float(consolidation), size)

    # Lesions: threshold the disease field at the quantile giving the requested burden.
    lesion = np.zeros(grid.shape, dtype=np.uint8)
    up = SeparableUpsampler(patient.lookup.grid, grid)
    if pct > 0:
        values, solid_values = [], []
        for k, (f, fs) in enumerate(zip(up.slice_iter(patient.disease), up.slice_iter(patient.solid))):
            in_lung = side[k] > 0
            values.append(f[in_lung])
            solid_values.append(fs[in_lung])
        allv = np.concatenate(values)
        n_lung = allv.size
        n_les = int(round(n_lung * pct / 100.0))
        if n_les > 0:
            t = np.partition(allv, n_lung - n_les)[n_lung - n_les]
            les_solid = np.concatenate(solid_values)[allv >= t]
            n_sol = int(round(les_solid.size * share))
            ts = np.partition(les_solid, les_solid.size - n_sol)[les_solid.size - n_sol] if n_sol > 0 else np.inf
            for k, (v, vs) in enumerate(zip(values, solid_values)):
                if v.size:
                    les = v >= t
                    lab = np.where(les & (vs >= ts), SOLID, np.where(les, GGO, 0)).astype(np.uint8)
                    lesion[k][side[k] > 0] = lab
        del values, solid_values, allv

    hu = np.empty(grid.shape, dtype=np.float32)
    # Dependent (posterior) lung is denser: -1 front .. +1 back of the chest.
    post = np.broadcast_to(np.clip(grid.y / 80.0, -1.0, 1.0).astype(np.float32)[:, None], grid.shape[1:])
    for k, tex in enumerate(up.slice_iter(patient.texture)):
        hu[k] = slice_hu(tissue[k], side[k] > 0, lesion[k], vessel[k], tex, post, solid_hu, solid_texture_hu)
    noise_s = int(seed) if noise_seed is None else int(noise_seed)
    body_yx = np.any(tissue != Tissue.AIR, axis=0)
    rows, cols = np.flatnonzero(body_yx.any(axis=1)), np.flatnonzero(body_yx.any(axis=0))
    box = (
        slice(None),
        slice(max(rows[0] - 6, 0), rows[-1] + 7),
        slice(max(cols[0] - 6, 0), cols[-1] + 7),
    )
    hu16 = blur_and_noise(hu, noise_sigma, noise_s, box=box)
    del hu

    origin, direction = _geometry(grid, oblique)
    volume = Volume(hu16, grid.spacing, origin, direction)
    is_bone = np.zeros(256, dtype=bool)
    is_bone[list(BONE_TISSUES)] = True
    bone = is_bone[tissue]
    airway = tissue == Tissue.AIRWAY
    side = side.copy()  # the scan owns (and may edit) its labels; the cache keeps its own
    truth = truth_metrics(side, lesion, volume.voxel_volume_ml)
    params = {
        "size": size, "seed": int(seed), "lesion_pct_requested": pct, "solid_share": share,
        "noise_sigma": float(noise_sigma), "consolidation": float(consolidation), "oblique": bool(oblique),
        "noise_seed": noise_s,
    }
    if (solid_hu, solid_texture_hu) != (SOLID_HU, SOLID_TEXTURE_HU):
        params.update(solid_hu=float(solid_hu), solid_texture_hu=float(solid_texture_hu))
    return PhantomScan(volume, side, lesion, bone, airway, truth, params, tissue)
