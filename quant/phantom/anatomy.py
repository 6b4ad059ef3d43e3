"""Analytic chest anatomy of the phantom, in the phantom frame (mm; x left, y posterior, z up).

Every structure is a closed-form shape, evaluated per axial slice on 2-D coordinate grids (or on any
broadcastable x, y, z arrays), so all output sizes depict the same patient. :func:`classify` returns
a tissue class per voxel and the lung side (1 right, 2 left, per :mod:`quant.labels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from quant.labels import LEFT_LUNG, RIGHT_LUNG

__all__ = [
    "Anatomy", "Tissue", "TISSUE_HU", "BONE_TISSUES", "AIRLESS_LUNG_TISSUES", "classify", "diaphragm_z",
    "mediastinum_half_width", "heart_rho", "great_vessels_rho", "MEDIASTINUM_X_MM", "may_reach", "capsule_dist2",
]


class Tissue:
    """Tissue class codes (uint8) of the label-first image model."""

    AIR = 0          # outside the body
    SKIN = 1
    FAT = 2
    MUSCLE = 3
    RIB = 4
    CARTILAGE = 5
    STERNUM = 6
    VERTEBRA = 7     # cancellous vertebral body
    CORTEX = 8       # vertebral cortex and posterior elements
    DISC = 9
    CANAL = 10       # spinal canal
    MEDIASTINUM = 11
    HEART = 12
    VESSEL = 13      # great vessels, aorta
    ESOPHAGUS = 14
    AIRWAY = 15      # trachea / main bronchus lumen
    AIRWAY_WALL = 16
    LIVER = 17
    ABDOMEN = 18
    LUNG = 19        # lung parenchyma (texture, vessels and lesions are added later)
    SCAPULA = 20
    # Optional structures of a realistic chest (quant.phantom.extras / quant.phantom.pleural):
    BOWEL_GAS = 21      # stomach and colon gas (not lung)
    EFFUSION = 22       # pleural fluid (not lung)
    ATELECTASIS = 23    # airless lung: lung and solid lesion in the truth
    CONSOLIDATION = 24  # airless consolidated lung (lung and solid lesion), always dense


#: Mean HU of each tissue class (LUNG is replaced by the parenchyma texture model).
TISSUE_HU = np.zeros(32, dtype=np.float32)
for _t, _hu in {
    Tissue.AIR: -1000, Tissue.SKIN: 20, Tissue.FAT: -100, Tissue.MUSCLE: 45, Tissue.RIB: 700,
    Tissue.CARTILAGE: 120, Tissue.STERNUM: 550, Tissue.VERTEBRA: 420, Tissue.CORTEX: 900,
    Tissue.DISC: 85, Tissue.CANAL: 15, Tissue.MEDIASTINUM: 30, Tissue.HEART: 40, Tissue.VESSEL: 42,
    Tissue.ESOPHAGUS: 40, Tissue.AIRWAY: -995, Tissue.AIRWAY_WALL: 35, Tissue.LIVER: 58,
    Tissue.ABDOMEN: 35, Tissue.LUNG: -855, Tissue.SCAPULA: 520,
    Tissue.BOWEL_GAS: -1000, Tissue.EFFUSION: 10, Tissue.ATELECTASIS: 35, Tissue.CONSOLIDATION: 30,
}.items():
    TISSUE_HU[_t] = _hu

BONE_TISSUES = (Tissue.RIB, Tissue.STERNUM, Tissue.VERTEBRA, Tissue.CORTEX, Tissue.SCAPULA)
#: Lung tissue classes other than aerated parenchyma: inside the lung, always solid lesion.
AIRLESS_LUNG_TISSUES = (Tissue.ATELECTASIS, Tissue.CONSOLIDATION)
#: x (mm) of the mediastinal midline (the heart and great vessels push it slightly to the left).
MEDIASTINUM_X_MM = 2.0


@dataclass(frozen=True)
class Anatomy:
    """Patient-specific shape parameters (mm), drawn from a seed by :meth:`from_seed`."""

    body_a: float = 158.0        # body half-width (x)
    body_b: float = 120.0        # body half-depth (y)
    fat: float = 12.0            # subcutaneous fat thickness
    junction_gap: float = 3.0    # width of the anterior junction line (tissue between the lungs)
    dome_right: float = -35.0    # z of the right hemidiaphragm dome
    dome_left: float = -45.0     # z of the left hemidiaphragm dome
    apex: float = 102.0          # z of the lung apices
    heart_x: float = 20.0
    heart_z: float = -45.0
    heart_size: float = 1.0
    carina_z: float = 28.0

    @classmethod
    def from_seed(cls, seed: int, junction_gap: float = 3.0) -> "Anatomy":
        rng = np.random.default_rng([seed, 0xA7])
        s_lat = rng.uniform(0.93, 1.02)
        s_ap = rng.uniform(0.93, 1.05)
        return cls(
            body_a=158.0 * s_lat,
            body_b=120.0 * s_ap,
            fat=float(rng.uniform(8.0, 18.0)),
            junction_gap=junction_gap,
            dome_right=float(rng.uniform(-58.0, -48.0)),
            dome_left=float(rng.uniform(-66.0, -56.0)),
            apex=float(rng.uniform(96.0, 106.0)),
            heart_x=float(rng.uniform(14.0, 24.0)),
            heart_z=float(rng.uniform(-58.0, -50.0)),
            heart_size=float(rng.uniform(0.92, 1.08)),
            carina_z=float(rng.uniform(24.0, 32.0)),
        )

    # -- body and chest wall ---------------------------------------------------------------
    def body_axes(self, z: NDArray | float) -> tuple[NDArray, NDArray]:
        """Half-width and half-depth (mm) of the body outline at height z (widest mid-chest)."""
        t = (np.asarray(z, dtype=np.float32) - 10.0) / 130.0
        return self.body_a * (1.0 - 0.06 * t * t), self.body_b * (1.0 - 0.05 * t * t + 0.03 * t)

    def _layer(self, x, y, a, b, d_lat, d_ant, d_post):
        """Normalised radius² of the body outline offset inwards by d_lat/d_ant/d_post mm."""
        y_ant = -b + d_ant
        y_post = 0.93 * b - d_post  # the back is flattened by the table
        yc = 0.5 * (y_ant + y_post)
        hb = np.maximum(0.5 * (y_post - y_ant), 1.0)
        ha = np.maximum(a - d_lat, 1.0)
        return (x / ha) ** 2 + ((y - yc) / hb) ** 2

    def wall(self) -> dict[str, tuple[float, float, float]]:
        """Inner offsets (lateral, anterior, posterior) in mm of each chest-wall layer."""
        f = self.fat
        muscle = (2.0 + f, 2.0 + f, 2.0 + f)
        ribs = (muscle[0] + 8.0, muscle[1] + 12.0, muscle[2] + 24.0)
        pleura = (ribs[0] + 10.0, ribs[1] + 10.0, ribs[2] + 10.0)
        cavity = (pleura[0] + 2.0, pleura[1] + 2.0, pleura[2] + 2.0)
        return {"skin": (2.0, 2.0, 2.0), "muscle": muscle, "ribs": ribs, "pleura": pleura, "cavity": cavity}

    def cavity(self, z):
        """Thoracic cavity ellipse at height z: centre y, half-width, half-depth (mm), apex taper."""
        a, b = self.body_axes(z)
        lat, ant, post = self.wall()["cavity"]
        y_ant = -b + ant
        y_post = 0.93 * b - post
        yc = 0.5 * (y_ant + y_post)
        ha = a - lat
        hb = 0.5 * (y_post - y_ant)
        z = np.asarray(z, dtype=np.float32)
        top = self.apex - 45.0
        k = np.sqrt(np.clip(1.0 - ((np.maximum(z, top) - top) / (self.apex - top)) ** 2, 0.0, 1.0))
        # The apices sit posteriorly: shrink towards a point behind the centre.
        yc_k = yc + (1.0 - k) * 0.35 * hb
        return yc, ha, hb, yc_k, ha * k, hb * k

    def spine_y(self, z) -> NDArray:
        """y (mm) of the vertebral body centre at height z."""
        yc, ha, hb, *_ = self.cavity(z)
        return yc + hb - 14.0

    def trachea_y(self, z) -> NDArray:
        return self.spine_y(z) - 50.0


def may_reach(z, centre: float, half: float) -> bool:
    """False only when a scalar z lies outside centre ± half (a structure can be skipped)."""
    return bool(np.ndim(z) or abs(float(z) - centre) <= half)


def _disk(x, y, cx, cy, r):
    return (x - cx) ** 2 + (y - cy) ** 2 < r * r


def capsule_dist2(x, y, z, a, b):
    """Squared distance from points to the segment a-b (3-vectors, mm), and the segment parameter."""
    ab = np.asarray(b, dtype=np.float32) - np.asarray(a, dtype=np.float32)
    px, py, pz = x - a[0], y - a[1], z - a[2]
    t = np.clip((px * ab[0] + py * ab[1] + pz * ab[2]) / float(ab @ ab), 0.0, 1.0)
    dx, dy, dz = px - t * ab[0], py - t * ab[1], pz - t * ab[2]
    return dx * dx + dy * dy + dz * dz, t


def bronchi(anat: Anatomy) -> list[tuple[NDArray, NDArray, float]]:
    """Main bronchi as (start, end, lumen radius mm) segments from the carina to each hilum."""
    zc = anat.carina_z
    ytr = float(anat.trachea_y(zc))
    carina = np.array([0.0, ytr, zc], dtype=np.float32)
    right = np.array([-40.0, ytr + 6.0, zc - 20.0], dtype=np.float32)
    left = np.array([44.0, ytr + 10.0, zc - 30.0], dtype=np.float32)
    return [(carina, right, 7.0), (carina, left, 6.0)]


AIRWAY_WALL_MM = 2.5
#: How far (mm) a rib descends from its spinal end to its sternal end.
RIB_DESCENT_MM = 100.0
TRACHEA_RADIUS_MM = 9.0


def diaphragm_z(anat: Anatomy, x: NDArray, u: NDArray, v: NDArray) -> NDArray:
    """z (mm) of the lung base (upper surface of the diaphragm) above phantom-frame x (mm).

    ``u`` = x / cavity half-width and ``v`` = (y - cavity centre) / cavity half-depth (unitless):
    domes at |u| = 0.45, lowest in the posterior costophrenic recesses (never below -110 mm).
    """
    du = (np.abs(u) - 0.45) / 0.55
    dome = np.where(x < 0, anat.dome_right, anat.dome_left).astype(np.float32)
    return np.maximum(dome - 28.0 * du * du - 20.0 * v * v - 20.0 * v, -110.0)


def mediastinum_half_width(anat: Anatomy, v: NDArray, zf: NDArray) -> NDArray:
    """Half-width (mm, in x about :data:`MEDIASTINUM_X_MM`) of the mediastinal band at (v, z).

    Narrow anteriorly (the anterior junction line) at mid levels, wider above and below and
    posteriorly (20 mm, 17 mm below z = -10 mm).
    """
    g = anat.junction_gap / 2.0
    ant_hw = np.where(
        (zf > -5.0) & (zf < 65.0), g,
        np.where(zf >= 65.0, g + (15.0 - g) * np.clip((zf - 65.0) / 30.0, 0, 1), g + (15.0 - g) * np.clip((-5.0 - zf) / 20.0, 0, 1)),
    )
    post_hw = np.where(zf > -10.0, 20.0, 17.0)
    tv = np.clip((v + 0.45) / 0.3, 0.0, 1.0)
    return ant_hw * (1.0 - tv) + post_hw * tv


def heart_rho(anat: Anatomy, x: NDArray, y: NDArray, zf: NDArray, yc: NDArray, hb: NDArray) -> NDArray:
    """Normalised radius² of the heart ellipsoid (< 1 inside); ``yc``/``hb``: cavity centre y and
    half-depth (mm). The long axis points to the left and forwards (35 degrees, axial plane)."""
    hs = anat.heart_size
    c, sn = np.cos(np.deg2rad(35.0)), np.sin(np.deg2rad(35.0))
    hx, hy = x - anat.heart_x, y - (yc - 0.12 * hb)
    u1, u2 = c * hx - sn * hy, sn * hx + c * hy
    return (u1 / (62.0 * hs)) ** 2 + (u2 / (0.58 * hb * hs)) ** 2 + ((zf - anat.heart_z) / (50.0 * hs)) ** 2


def great_vessels_rho(x: NDArray, y: NDArray, zf: NDArray, yc: NDArray, hb: NDArray, pad_mm: float = 0.0) -> NDArray:
    """Normalised radius² of the great-vessel ellipsoid above the heart (< 1 inside), optionally
    grown by ``pad_mm`` mm on every semi-axis."""
    return (
        ((x - 2.0) / (34.0 + pad_mm)) ** 2 + ((y - (yc + 0.05 * hb)) / (0.42 * hb + pad_mm)) ** 2
        + ((zf - 25.0) / (30.0 + pad_mm)) ** 2
    )


def classify(anat: Anatomy, x: NDArray, y: NDArray, z: float | NDArray) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Tissue class and lung side (0 none, 1 right, 2 left) at phantom-frame points (mm).

    ``x``, ``y`` and ``z`` broadcast together (typically 2-D x/y grids and a scalar z). Lung side
    covers everything inside the visceral pleura, i.e. where parenchyma, its vessels and its
    lesions live; trachea and main bronchi are never lung.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    zf = np.asarray(z, dtype=np.float32)
    shape = np.broadcast_shapes(x.shape, y.shape, zf.shape)
    tissue = np.zeros(shape, dtype=np.uint8)
    a, b = anat.body_axes(zf)
    w = anat.wall()

    def inside(layer: str):
        return anat._layer(x, y, a, b, *w[layer]) < 1.0

    body = anat._layer(x, y, a, b, 0.0, 0.0, 0.0) < 1.0
    tissue[body] = Tissue.SKIN
    tissue[inside("skin")] = Tissue.FAT
    tissue[inside("muscle")] = Tissue.MUSCLE
    in_ribs = inside("ribs")
    in_pleura = inside("pleura")
    shell = in_ribs & ~in_pleura

    yc, ha, hb, yck, hak, hbk = anat.cavity(zf)
    # Ribs: bands that run down and forwards from the spine; phi = 0 at the spine, pi at the sternum.
    phi = np.arctan2(np.abs(x), y - yc)
    run = zf + RIB_DESCENT_MM * phi / np.pi
    rib = shell & (np.mod(run - 3.0, 25.0) < 10.0) & (run < anat.apex + 15.0) & (run > -150.0 + RIB_DESCENT_MM * 0.5)
    cart = rib & (phi > 0.86 * np.pi)
    tissue[rib & ~cart] = Tissue.RIB
    tissue[cart] = Tissue.CARTILAGE
    # Scapulae: thin plates in the posterolateral muscle layer, from the shoulders down to their
    # inferior angle; the blade narrows downwards.
    if may_reach(zf, 70.0, 45.0):
        m_lat, m_ant, m_post = w["muscle"]
        outer = anat._layer(x, y, a, b, m_lat + 1.0, m_ant, m_post + 9.0) < 1.0
        inner = anat._layer(x, y, a, b, m_lat + 4.0, m_ant, m_post + 15.0) < 1.0
        top = np.clip((zf - 25.0) / 90.0, 0.0, 1.0)
        blade = (phi > 0.17 * np.pi) & (phi < (0.22 + 0.22 * top) * np.pi) & (zf > 25.0) & (zf < 115.0)
        tissue[outer & ~inner & blade & ~in_ribs] = Tissue.SCAPULA
    # Sternum: a plate in the anterior muscle layer.
    y_front = -b + w["muscle"][1]
    sternum = (np.abs(x) < 16.0) & (y > y_front) & (y < y_front + 11.0) & (zf > -85.0) & (zf < 70.0) & body
    tissue[sternum] = Tissue.STERNUM

    # Thoracic cavity (tapered at the apex) and the abdomen below the diaphragm.
    in_cav_full = ((x / ha) ** 2 + ((y - yc) / hb) ** 2) < 1.0
    in_cav = ((x / np.maximum(hak, 1e-3)) ** 2 + ((y - yck) / np.maximum(hbk, 1e-3)) ** 2) < 1.0
    # Extrapleural layer, and the soft tissue of the thoracic inlet around the apices.
    tissue[in_pleura & ~in_cav] = Tissue.MUSCLE
    u = x / ha
    v = (y - yc) / hb
    z_base = diaphragm_z(anat, x, u, v)
    thorax = in_cav & (zf > z_base)
    abdomen = in_cav_full & (zf <= z_base)
    tissue[abdomen] = Tissue.ABDOMEN
    liver = abdomen & (x < 35.0 - 0.3 * (y - yc))
    tissue[liver] = Tissue.LIVER
    tissue[thorax] = Tissue.LUNG

    # Mediastinum: a midline band, narrow anteriorly (the anterior junction line) at mid levels.
    xm = MEDIASTINUM_X_MM
    medi = np.abs(x - xm) < mediastinum_half_width(anat, v, zf)
    tissue[thorax & medi] = Tissue.MEDIASTINUM

    # Heart (left-anterior, on the diaphragm) and great vessels above it.
    # The heart's long axis points to the left and forwards (about 35 degrees in the axial plane);
    # epicardial fat wraps it.
    hs = anat.heart_size
    if may_reach(zf, anat.heart_z, 50.0 * hs * 1.08):
        rho = heart_rho(anat, x, y, zf, yc, hb)
        heart = rho < 1.0
        tissue[(rho < 1.16) & ~heart & (tissue == Tissue.MEDIASTINUM)] = Tissue.FAT
        tissue[heart & in_pleura] = Tissue.HEART
    if may_reach(zf, 25.0, 30.0):
        great = great_vessels_rho(x, y, zf, yc, hb) < 1.0
        tissue[great & in_pleura] = Tissue.VESSEL

    # Spine: vertebral bodies (discs every 26 mm), canal and posterior elements.
    ysp = anat.spine_y(zf)
    r2 = x * x + (y - ysp) ** 2
    disc = np.mod(zf + 200.0, 26.0) < 5.0
    vb = r2 < 19.0**2
    vb_tissue = np.where(disc, Tissue.DISC, np.where(r2 > 16.0**2, Tissue.CORTEX, Tissue.VERTEBRA))
    tissue[vb] = np.broadcast_to(vb_tissue, shape)[vb]
    rc2 = x * x + (y - ysp - 28.0) ** 2
    arch = (rc2 < 13.0**2) & (y > ysp + 20.0)
    tissue[arch] = Tissue.CORTEX
    spinous = (np.abs(x) < 5.0) & (y > ysp + 35.0) & (y < ysp + 56.0)
    tissue[spinous & body] = Tissue.CORTEX
    tissue[rc2 < 8.0**2] = Tissue.CANAL

    # Descending aorta and oesophagus.
    if may_reach(zf, -32.5, 72.5):
        aorta = _disk(x, y, 22.0, ysp - 8.0, 12.0) & (zf < 40.0) & (zf > -105.0)
        tissue[aorta] = Tissue.VESSEL
    eso = _disk(x, y, -4.0, ysp - 28.0, 8.0) & (zf > -100.0)
    tissue[eso] = Tissue.ESOPHAGUS

    # Hila: soft tissue (vessels, nodes) around the ends of the main bronchi, so the bronchi stay
    # wrapped in mediastinal tissue where they meet the lung.
    for p0, p1, r in bronchi(anat):
        sleeve = r + AIRWAY_WALL_MM + 6.0
        if zf.ndim == 0 and not (min(p0[2], p1[2]) - sleeve <= zf <= max(p0[2], p1[2]) + sleeve):
            continue
        d2, _ = capsule_dist2(x, y, zf, p0, p1)
        tissue[(d2 < sleeve**2) & thorax] = Tissue.MEDIASTINUM

    # Trachea and main bronchi: air lumen with a soft-tissue wall; never part of the lung.
    # All walls are drawn before any lumen: the tubes overlap at the carina, and a wall drawn after
    # a neighbouring lumen would plug the airway there.
    ytr = anat.trachea_y(zf)
    r_tr2 = x * x + (y - ytr) ** 2
    above = zf >= anat.carina_z
    wall_r = TRACHEA_RADIUS_MM + AIRWAY_WALL_MM
    lumens = [(r_tr2 < TRACHEA_RADIUS_MM**2) & above]
    tissue[(r_tr2 < wall_r**2) & above] = Tissue.AIRWAY_WALL
    for p0, p1, r in bronchi(anat):
        reach = r + AIRWAY_WALL_MM
        if zf.ndim == 0 and not (min(p0[2], p1[2]) - reach <= zf <= max(p0[2], p1[2]) + reach):
            continue
        d2, _ = capsule_dist2(x, y, zf, p0, p1)
        tissue[d2 < reach**2] = Tissue.AIRWAY_WALL
        lumens.append(d2 < r * r)
    for lumen in lumens:
        tissue[lumen] = Tissue.AIRWAY

    lung = tissue == Tissue.LUNG
    side = np.zeros(shape, dtype=np.uint8)
    side[lung & (x < xm)] = RIGHT_LUNG
    side[lung & (x >= xm)] = LEFT_LUNG
    return tissue, side
