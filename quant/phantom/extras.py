"""What real chests have and the basic phantom lacks: fat touching the pleura and abdominal gas.

Structures here are drawn per axial slice on top of :func:`quant.phantom.anatomy.classify`, in the
phantom frame (mm; x left, y posterior, z up), and never add lung:

* **chest fat** (-100 HU, :data:`Tissue.FAT`):

  - extrapleural fat between the parietal pleura and the ribs / intercostal muscles,
    :data:`EXTRAPLEURAL_FAT_MM` thick (thickest posterolaterally); it replaces the muscle of the
    extrapleural band, never bone;
  - mediastinal fat: a rim (:data:`MEDIASTINAL_FAT_RIM_MM`) along the mediastinal pleura wherever
    the mediastinum is wider than the anterior junction line, all of the anterior mediastinum, and
    a cuff (:data:`GREAT_VESSEL_FAT_MM`) around the great vessels;
  - pericardial fat pads at the cardiophrenic angles: lung within about
    :data:`FAT_PAD_MM` of the heart and :data:`FAT_PAD_HEIGHT_MM` of the diaphragm becomes fat.

* **abdominal gas** (-1000 HU, :data:`Tissue.BOWEL_GAS`) at least :data:`GAS_CLEARANCE_MM` below
  the lung base (the diaphragm and the bowel wall lie between):

  - a stomach under the left hemidiaphragm (an ellipsoid of about 160 mL) with a gas bubble of
    some 20-35 mL above a coronal air-fluid level (the patient is supine: gas rises anteriorly);
  - colon gas in the splenic flexure, lateral to the stomach: a tube of :data:`COLON_RADIUS_MM`
    radius, about 70 mm long, running forwards to the transverse colon, mottled with stool
    (soft tissue).

Pleural effusion, atelectasis and mediastinal consolidation need the whole lung at once; they live
in :mod:`quant.phantom.pleural`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.phantom.anatomy import (
    MEDIASTINUM_X_MM,
    Anatomy,
    Tissue,
    capsule_dist2,
    diaphragm_z,
    great_vessels_rho,
    heart_rho,
    may_reach,
    mediastinum_half_width,
)

__all__ = [
    "Extras", "NO_EXTRAS", "add_slice_extras", "EXTRAPLEURAL_FAT_MM", "MEDIASTINAL_FAT_RIM_MM",
    "GREAT_VESSEL_FAT_MM", "FAT_PAD_MM", "FAT_PAD_HEIGHT_MM", "GAS_CLEARANCE_MM", "COLON_RADIUS_MM",
]

#: Extrapleural fat thickness (mm): anteriorly / medially, and at its posterolateral maximum.
EXTRAPLEURAL_FAT_MM = (2.0, 5.0)
#: Fat rim (mm) along the mediastinal pleura, where the mediastinum is wider than 2 × 5 mm.
MEDIASTINAL_FAT_RIM_MM = 4.0
#: Fat cuff (mm) around the great vessels (aortic arch, SVC, pulmonary trunk).
GREAT_VESSEL_FAT_MM = 4.0
#: Pericardial fat pads: about this far (mm) out from the heart ...
FAT_PAD_MM = 12.0
#: ... and at most this high (mm) above the diaphragm (the cardiophrenic angles).
FAT_PAD_HEIGHT_MM = 18.0
#: Least distance (mm) between abdominal gas and the lung base (diaphragm + bowel wall).
GAS_CLEARANCE_MM = 8.0
#: Radius (mm) of the gas-filled colon.
COLON_RADIUS_MM = 13.0


@dataclass(frozen=True)
class Extras:
    """Optional realistic structures of a phantom (see :func:`quant.phantom.make_scan`).

    Attributes:
        chest_fat: extrapleural, mediastinal and pericardial fat touching the pleura.
        abdominal_gas: stomach and colon gas under the left hemidiaphragm.
        effusion_ml: pleural effusion volume (mL) of the (right, left) pleural cavity.
        atelectasis_mm: thickness (mm, at the lung floor) of dependent atelectasis (right, left).
        mediastinal_consolidation: 0..1, size of an airless consolidation of the left lower lobe
            touching the mediastinal pleura (0: none).
    """

    chest_fat: bool = False
    abdominal_gas: bool = False
    effusion_ml: tuple[float, float] = (0.0, 0.0)
    atelectasis_mm: tuple[float, float] = (0.0, 0.0)
    mediastinal_consolidation: float = 0.0

    @property
    def per_slice(self) -> bool:
        """Whether any structure drawn slice by slice (:func:`add_slice_extras`) is on."""
        return self.chest_fat or self.abdominal_gas

    @property
    def pleural(self) -> bool:
        """Whether any structure of :mod:`quant.phantom.pleural` is on."""
        return any(self.effusion_ml) or any(self.atelectasis_mm) or self.mediastinal_consolidation > 0


NO_EXTRAS = Extras()


def add_slice_extras(
    anat: Anatomy, x: NDArray, y: NDArray, z: float, tissue: NDArray[np.uint8], side: NDArray[np.uint8], extras: Extras
) -> None:
    """Draw the per-slice extras into one slice's ``tissue`` / ``side`` (modified in place).

    ``x`` and ``y`` are the slice's 2-D phantom-frame coordinate grids (mm), ``z`` its height (mm).
    Lung that becomes fat loses its lung side.
    """
    if extras.chest_fat:
        _chest_fat(anat, x, y, z, tissue)
    if extras.abdominal_gas:
        _abdominal_gas(anat, x, y, z, tissue)
    side[tissue != Tissue.LUNG] = 0


def _chest_fat(anat: Anatomy, x: NDArray, y: NDArray, z: float, tissue: NDArray[np.uint8]) -> None:
    zf = np.float32(z)
    yc, ha, hb, yck, hak, hbk = anat.cavity(zf)
    # Extrapleural fat: a band just outside the (apex-tapered) pleural cavity, replacing muscle.
    hak, hbk = max(float(hak), 1e-3), max(float(hbk), 1e-3)
    phi = np.arctan2(np.abs(x), y - yc) / np.pi  # 0 at the back, 1 at the sternum
    lo, hi = EXTRAPLEURAL_FAT_MM
    t = lo + (hi - lo) * np.exp(-(((phi - 0.3) / 0.2) ** 2))
    in_cav = (x / hak) ** 2 + ((y - yck) / hbk) ** 2 < 1.0
    in_fat = (x / (hak + t)) ** 2 + ((y - yck) / (hbk + t)) ** 2 < 1.0
    fat = in_fat & ~in_cav & (tissue == Tissue.MUSCLE)

    # Mediastinal fat: a rim along the mediastinal pleura and the whole anterior mediastinum,
    # except the thin anterior junction line.
    v = (y - yc) / hb
    hw = mediastinum_half_width(anat, v, zf)
    inner = hw - np.abs(x - MEDIASTINUM_X_MM)  # mm inside the edge of the mediastinal band
    medi = (tissue == Tissue.MEDIASTINUM) & (inner >= 0.0) & (hw > 5.0)
    fat |= medi & ((inner < MEDIASTINAL_FAT_RIM_MM) | (v < -0.3))

    # A fat cuff around the great vessels.
    if may_reach(z, 25.0, 30.0 + GREAT_VESSEL_FAT_MM):
        outer = great_vessels_rho(x, y, zf, yc, hb, pad_mm=GREAT_VESSEL_FAT_MM) < 1.0
        fat |= outer & ~(great_vessels_rho(x, y, zf, yc, hb) < 1.0) & np.isin(tissue, (Tissue.LUNG, Tissue.MEDIASTINUM))

    # Pericardial fat pads in the cardiophrenic angles (lung next to the heart, on the diaphragm).
    reach = 50.0 * anat.heart_size * 1.3
    if may_reach(z, anat.heart_z, reach):
        rho = heart_rho(anat, x, y, zf, yc, hb)
        pad_rho = (1.0 + FAT_PAD_MM / (55.0 * anat.heart_size)) ** 2
        z_base = diaphragm_z(anat, x, x / ha, v)
        fat |= (rho < pad_rho) & (zf < z_base + FAT_PAD_HEIGHT_MM) & (v < 0.2) & (tissue == Tissue.LUNG)
    tissue[fat] = Tissue.FAT


def _below_diaphragm_mm(anat: Anatomy, x: NDArray, y: NDArray, zf: np.float32) -> NDArray:
    """Distance (mm, first order) from points below the lung base up to its surface."""
    yc, ha, hb, *_ = anat.cavity(zf)
    u, v = x / ha, (y - yc) / hb
    z_base = diaphragm_z(anat, x, u, v)
    du = (np.abs(u) - 0.45) / 0.55
    dzdx = -56.0 * du * np.sign(x) / (0.55 * ha)
    dzdy = -(40.0 * v + 20.0) / hb
    grad2 = np.where(z_base > -110.0, dzdx * dzdx + dzdy * dzdy, 0.0)
    return (z_base - zf) / np.sqrt(1.0 + grad2)


def _stomach(anat: Anatomy) -> tuple[NDArray, NDArray]:
    """Centre (x, y, z) and semi-axes (mm) of the stomach, under the left dome."""
    zd = anat.dome_left
    ycd, had, hbd, *_ = anat.cavity(np.float32(zd))
    centre = np.array([0.28 * had, ycd - 0.1 * hbd, zd - 30.0], dtype=np.float32)
    return centre, np.array([35.0, 40.0, 28.0], dtype=np.float32)


def _colon(anat: Anatomy) -> tuple[NDArray, NDArray]:
    """End points (x, y, z mm) of the gas-filled colon: splenic flexure → left transverse colon."""
    zd = anat.dome_left
    ycd, had, hbd, *_ = anat.cavity(np.float32(zd))
    p1 = np.array([0.8 * had, ycd + 0.05 * hbd, zd - 38.0], dtype=np.float32)
    p2 = np.array([0.64 * had, ycd - 0.58 * hbd, zd - 42.0], dtype=np.float32)
    return p1, p2


def _abdominal_gas(anat: Anatomy, x: NDArray, y: NDArray, z: float, tissue: NDArray[np.uint8]) -> None:
    zf = np.float32(z)
    centre, axes = _stomach(anat)
    p1, p2 = _colon(anat)
    in_stomach = may_reach(z, float(centre[2]), float(axes[2]))
    in_colon = may_reach(z, 0.5 * float(p1[2] + p2[2]), 0.5 * abs(float(p1[2] - p2[2])) + COLON_RADIUS_MM)
    if not (in_stomach or in_colon):
        return
    soft = np.isin(tissue, (Tissue.ABDOMEN, Tissue.LIVER))
    clear = soft & (_below_diaphragm_mm(anat, x, y, zf) >= GAS_CLEARANCE_MM)
    gas = np.zeros(tissue.shape, dtype=bool)
    if in_stomach:
        r = ((x - centre[0]) / axes[0]) ** 2 + ((y - centre[1]) / axes[1]) ** 2 + ((zf - centre[2]) / axes[2]) ** 2
        level = centre[1] - 0.1 * axes[1]  # air-fluid level (coronal plane); fluid stays soft tissue
        gas |= (r < 1.0) & (y < level)
    if in_colon:
        d2, _ = capsule_dist2(x, y, zf, p1, p2)
        # Mottled stool: a smooth deterministic pattern (~10 mm blobs) fills part of the lumen.
        stool = np.sin(0.31 * x + 0.7) * np.sin(0.27 * y + 1.9) * np.sin(0.35 * zf + 0.4) > 0.3
        gas |= (d2 < COLON_RADIUS_MM**2) & ~stool
    tissue[gas & clear] = Tissue.BOWEL_GAS
