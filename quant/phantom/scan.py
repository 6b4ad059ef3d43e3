"""Assemble a phantom chest CT: :func:`make_scan` → :class:`PhantomScan` (image + exact truth)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from quant.labels import GGO, LEFT_LUNG, RIGHT_LUNG, SOLID
from quant.phantom.anatomy import AIRLESS_LUNG_TISSUES, BONE_TISSUES, Tissue
from quant.phantom.coverage import BLUR_MARGIN_SLICES, lattice_grid, z_window
from quant.phantom.errors import PhantomError
from quant.phantom.extras import Extras
from quant.phantom.grid import SIZES, Grid, SeparableUpsampler, grid_for_size
from quant.phantom.image import KERNELS, SOLID_HU, SOLID_TEXTURE_HU, blur_and_noise, slice_hu
from quant.phantom.patient import (  # noqa: F401  (_patient: tests reach the patient model here)
    _anatomy_on_grid,
    _lesion_labels,
    _patient,
)
from quant.volume import Volume

__all__ = [
    "PhantomScan", "PhantomError", "make_scan", "truth_metrics", "OBLIQUE_DEGREES", "TABLE_CENTRE_LPS",
    "REAL_CHEST",
]

#: LPS position (mm) of the centre of the scanned field (a plausible table position).
TABLE_CENTRE_LPS = (0.0, 0.0, -160.0)
#: Tilt (degrees, about the patient's left-right axis) of an oblique phantom's direction.
OBLIQUE_DEGREES = 15.0
MAX_LESION_PCT = 60.0
#: Largest effusion (mL) of one side, and thickest atelectasis (mm) accepted by make_scan.
MAX_EFFUSION_ML = 2000.0
MAX_ATELECTASIS_MM = 40.0

#: Keyword arguments of :func:`make_scan` for "a realistic chest": extrapleural, mediastinal and
#: pericardial fat touching the pleura, and stomach and colon gas under the left hemidiaphragm.
#: Use as ``make_scan("small", seed, **REAL_CHEST)``; add effusion, kernel etc. as needed.
REAL_CHEST: Mapping[str, Any] = MappingProxyType({"chest_fat": True, "abdominal_gas": True})


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


def _geometry(grid: Grid, oblique: bool) -> tuple[tuple[float, float, float], NDArray[np.float64]]:
    """Origin (LPS mm of voxel 0) and direction of the volume; the phantom frame is rotated for
    an oblique scan, so the array content is the same and only the patient geometry changes."""
    direction = np.eye(3)
    if oblique:
        a = np.deg2rad(OBLIQUE_DEGREES)
        direction = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    origin = np.asarray(TABLE_CENTRE_LPS) + direction @ np.asarray(grid.first_voxel_mm)
    return tuple(float(v) for v in origin), direction  # type: ignore[return-value]


def _pair(value: float | tuple[float, float], name: str) -> tuple[float, float]:
    """(right, left) from a number (both sides) or a pair."""
    try:
        pair = (float(value), float(value)) if np.ndim(value) == 0 else tuple(float(v) for v in value)  # type: ignore[union-attr,arg-type]
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or not all(np.isfinite(pair)) or min(pair) < 0:
        raise PhantomError(f"{name} must be >= 0 (one number, or a (right, left) pair), got {value!r}")
    return pair  # type: ignore[return-value]


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
    chest_fat: bool = False,
    abdominal_gas: bool = False,
    effusion_ml: float | tuple[float, float] = 0.0,
    atelectasis_mm: float | tuple[float, float] = 0.0,
    mediastinal_consolidation: float = 0.0,
    kernel: str = "soft",
    coverage: str = "full",
    z_range_mm: tuple[float, float] | None = None,
) -> PhantomScan:
    """A synthetic chest CT with lungs, vessels, COVID-like lesions and exact truth.

    All options after ``solid_texture_hu`` are off by default; :data:`REAL_CHEST` turns on fat and
    gas ("a realistic chest").

    Args:
        size: "small" (80×128×128 at 3.0×2.7×2.7 mm) or "full" (300×512×512 at 1.0×0.7×0.7 mm).
            Both depict the same patient for a given seed.
        seed: patient (anatomy, vessels, lesion layout) and, unless ``noise_seed``, noise.
        lesion_pct: target lesion volume, % of whole-lung volume (0 = no lesions, up to 60);
            None draws 5..30 % from the seed. Achieved to within a few voxels on the output grid.
            Atelectasis and mediastinal consolidation count towards it (the COVID-like lesions
            fill the rest; when they alone exceed it, the truth is theirs).
        noise_sigma: standard deviation (HU) of the added Gaussian noise (in the final image,
            whatever the kernel).
        consolidation: 0..1, strength of one extra large posterior-basal subpleural consolidation
            (right lower lobe).
        oblique: tilt the patient geometry by :data:`OBLIQUE_DEGREES` (same array, rotated
            direction).
        solid_share: fraction (0..1) of lesion volume that is solid; None draws 0.12..0.3.
        noise_seed: seed of the noise only (serial scans of one patient differ in noise).
        solid_hu: mean HU of the solid component / consolidation (-300..+50; real airless lung is
            about +20..+50, see :data:`quant.phantom.image.DENSE_SOLID_HU`).
        solid_texture_hu: texture amplitude (HU) of the solid component (0..60).
        chest_fat: fat (-100 HU) touching the pleura (:mod:`quant.phantom.extras`): extrapleural
            fat 2 mm thick anteriorly to 5 mm posterolaterally between the pleura and the ribs /
            intercostal muscles; a 4 mm rim along the mediastinal pleura, the anterior mediastinum
            and a 4 mm cuff around the great vessels; pericardial fat pads (~12 mm) at the
            cardiophrenic angles. Never lung.
        abdominal_gas: gas (-1000 HU, ``Tissue.BOWEL_GAS``) at least 8 mm below the lung base
            (:mod:`quant.phantom.extras`): a stomach gas bubble (~20-35 mL) with a coronal
            air-fluid level under the left hemidiaphragm, and colon gas in the splenic flexure
            (a 13 mm radius tube ~70 mm long, ~20-30 mL, mottled with stool); 40-65 mL in all.
            Never lung.
        effusion_ml: pleural effusion (+10 HU, homogeneous, ``Tissue.EFFUSION``), mL per side: one
            number for both sides or a (right, left) pair (:mod:`quant.phantom.pleural`). A
            dependent posterior-basal crescent replacing lung (not lung in the truth); at most
            2000 mL and half of a side's lung.
        atelectasis_mm: dependent atelectasis (+35 HU, ``Tissue.ATELECTASIS``), thickness in mm
            (0..40; one number or a (right, left) pair): a band just inside the effusion, full
            thickness where the fluid is at least twice as thick and in the lowest 40 mm of the
            lung, thinning above; without an effusion, along the posterior pleura at the bases.
            Lung and solid lesion.
        mediastinal_consolidation: 0..1, size of an airless (+30 HU, ``Tissue.CONSOLIDATION``)
            consolidation of the left lower lobe, paravertebral and retrocardiac, touching the
            mediastinal pleura (the descending aorta): an ellipsoid of semi-axes 28/36/39 mm at 1
            (12/16/17 mm near 0), about 90 mL of lung at 1. Lung and solid lesion.
        kernel: reconstruction kernel, "soft" or "sharp" (in-plane edge enhancement of image
            and noise, a Laplacian plus an unsharp mask, like a B70f lung kernel: high-frequency
            noise, ~10 % edge overshoot; use with e.g. ``noise_sigma=60`` for a low-dose scan).
            See :mod:`quant.phantom.image`.
        coverage: "full", "apex_cut" (the top slice lies 30 mm below the lung apices) or
            "bases_only" (about 100 mL of lung bases above 200 mm of upper abdomen, like an
            abdominal CT). See :mod:`quant.phantom.coverage`.
        z_range_mm: (bottom, top) z in mm of the phantom frame (z up, 0 = centre of the standard
            field) instead of a preset: the slices of the size's z lattice in that range.

    Returns:
        A :class:`PhantomScan`; its ``truth`` is computed from its final label maps (for a cut
        coverage: the labels of the slices in the scan). The lesions and effusion are the
        patient's whole-lung ones, cropped with the scan.
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
    extras = _extras(chest_fat, abdominal_gas, effusion_ml, atelectasis_mm, mediastinal_consolidation)
    if kernel not in KERNELS:
        raise PhantomError(f"unknown kernel {kernel!r}; use one of {list(KERNELS)}")

    base = grid_for_size(size)
    patient = _patient(int(seed), float(consolidation))
    window = z_window(base, patient.anatomy, patient.lookup, coverage, z_range_mm)
    # The patient is built on the union of the standard grid (the whole lung) and the window with
    # a blur margin, then cropped; without a window, on the standard grid.
    union = None
    if window is not None:
        union = (min(window[0] - BLUR_MARGIN_SLICES, 0), max(window[1] + BLUR_MARGIN_SLICES, base.shape[0] - 1))
    grid = base if union is None else lattice_grid(base, *union)

    anatomy_window = None if union == (0, base.shape[0] - 1) else union  # shares the cache
    tissue, side, vessel = _anatomy_on_grid(int(seed), float(consolidation), size, extras, anatomy_window)
    fixed = np.isin(tissue, AIRLESS_LUNG_TISSUES) if extras.pleural else None
    lesion = _lesion_labels(patient, grid, side, fixed, pct, share)
    if union is not None:  # image only the window and its blur margin
        lo = max(window[0] - BLUR_MARGIN_SLICES, union[0])
        hi = min(window[1] + BLUR_MARGIN_SLICES, union[1])
        keep = slice(lo - union[0], hi - union[0] + 1)
        tissue, side, vessel, lesion = tissue[keep], side[keep], vessel[keep], lesion[keep]
        grid = lattice_grid(base, lo, hi)

    hu = np.empty(grid.shape, dtype=np.float32)
    up = SeparableUpsampler(patient.lookup.grid, grid)
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
    hu16 = blur_and_noise(hu, noise_sigma, noise_s, box=box, kernel=kernel)
    del hu
    if union is not None:  # drop the blur margin
        crop = slice(window[0] - lo, window[1] - lo + 1)
        hu16, tissue, side, vessel, lesion = (np.ascontiguousarray(a[crop]) for a in (hu16, tissue, side, vessel, lesion))
        grid = lattice_grid(base, *window)

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
    params.update(_extra_params(extras, kernel, coverage, z_range_mm, window, base))
    return PhantomScan(volume, side, lesion, bone, airway, truth, params, tissue)


def _extras(chest_fat, abdominal_gas, effusion_ml, atelectasis_mm, mediastinal_consolidation) -> Extras:
    """Validated :class:`Extras` from make_scan's options."""
    eff = _pair(effusion_ml, "effusion_ml")
    atel = _pair(atelectasis_mm, "atelectasis_mm")
    if max(eff) > MAX_EFFUSION_ML:
        raise PhantomError(f"effusion_ml must be at most {MAX_EFFUSION_ML:g} mL per side, got {effusion_ml!r}")
    if max(atel) > MAX_ATELECTASIS_MM:
        raise PhantomError(f"atelectasis_mm must be at most {MAX_ATELECTASIS_MM:g} mm, got {atelectasis_mm!r}")
    if not 0.0 <= float(mediastinal_consolidation) <= 1.0:
        raise PhantomError(f"mediastinal_consolidation must be in 0..1, got {mediastinal_consolidation!r}")
    return Extras(bool(chest_fat), bool(abdominal_gas), eff, atel, float(mediastinal_consolidation))


def _extra_params(
    extras: Extras, kernel: str, coverage: str, z_range_mm, window: tuple[int, int] | None, base: Grid
) -> dict[str, Any]:
    """The non-default realistic options, for ``PhantomScan.params`` (defaults are not recorded)."""
    out: dict[str, Any] = {}
    if extras.chest_fat:
        out["chest_fat"] = True
    if extras.abdominal_gas:
        out["abdominal_gas"] = True
    if any(extras.effusion_ml):
        out["effusion_ml"] = list(extras.effusion_ml)
    if any(extras.atelectasis_mm):
        out["atelectasis_mm"] = list(extras.atelectasis_mm)
    if extras.mediastinal_consolidation > 0:
        out["mediastinal_consolidation"] = extras.mediastinal_consolidation
    if kernel != "soft":
        out["kernel"] = kernel
    if coverage != "full":
        out["coverage"] = coverage
    if z_range_mm is not None:
        out["z_range_mm"] = [float(v) for v in z_range_mm]
    if window is not None:
        z = lattice_grid(base, *window).z
        out["z_slices_mm"] = [float(z[0]), float(z[-1])]
    return out
