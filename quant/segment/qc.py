"""Quality-control flags of an automatic segmentation: when its numbers cannot be trusted.

Each flag has a stable ``code`` (stored with reads and exported) and a ``message`` for the reader
that gives the measured figure. Thresholds live in the protocol's ``[qc]`` section. A scan with no
plausible lungs is not flagged but refused (:class:`quant.segment.errors.SegmentationError`).

==========================  ======================================================================
code                        raised when
==========================  ======================================================================
``incomplete_coverage``     lung reaches the top or bottom slice of the scan (apex or base cut; an
                            abdominal CT that catches the lung bases) or the side edges of the image
                            (a field of view that cuts the lungs)
``implausible_lung_volume`` total lung volume outside the adult range of the protocol
``thick_slices``            slice spacing above the protocol's limit for lesion quantification
``fat_like_solid``          the solid component is large enough to matter and its median HU is
                            that of fat, not of airless lung
``noisy_image``             the image noise of the aerated lung is that of a low-dose or
                            sharp-kernel scan: ground-glass extent is uncertain
==========================  ======================================================================

A flagged scan is still viewable and correctable; the flags are shown to the reader and travel
with the read into the exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quant.labels import SOLID, LesionMasks, LungMasks
from quant.metrics import Metrics
from quant.protocol import Protocol
from quant.segment.lesion_seeds import lung_noise_hu
from quant.volume import Volume

__all__ = ["QCFlag", "QC_CODES", "QC_TITLES", "assess", "codes_text", "to_metrics", "from_metrics"]

QC_CODES = ("incomplete_coverage", "implausible_lung_volume", "thick_slices", "fat_like_solid", "noisy_image")
#: Short titles of the codes, for a reader who sees a stored flag without its message.
QC_TITLES = {
    "incomplete_coverage": "lungs not fully covered by the scan",
    "implausible_lung_volume": "lung volume outside the adult range",
    "thick_slices": "slices too thick for lesion quantification",
    "fat_like_solid": "solid component with the HU of fat",
    "noisy_image": "image too noisy for a certain ground-glass extent",
}


@dataclass(frozen=True)
class QCFlag:
    """One quality-control finding: a stable ``code`` and a message with the figure behind it."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def codes_text(flags: tuple[QCFlag, ...] | list[QCFlag]) -> str:
    """The flag codes joined by ``;`` (empty text when there is none): how a read stores them."""
    return ";".join(f.code for f in flags)


def to_metrics(flags: tuple[QCFlag, ...] | list[QCFlag]) -> dict[str, str]:
    """The two metric entries a read stores for the automatic result's flags: ``qc_flags`` (codes
    joined by ``;``, what exports carry) and ``qc_notes`` (the messages, joined by `` | ``)."""
    return {"qc_flags": codes_text(flags), "qc_notes": " | ".join(f.message for f in flags)}


def from_metrics(metrics: dict) -> tuple[QCFlag, ...]:
    """The flags stored in a read's metrics by :func:`to_metrics` (messages, or the code's title
    when a message is missing)."""
    codes = [c for c in str(metrics.get("qc_flags") or "").split(";") if c]
    notes = [n for n in str(metrics.get("qc_notes") or "").split(" | ") if n]
    if len(notes) != len(codes):
        notes = [QC_TITLES.get(c, c) for c in codes]
    return tuple(QCFlag(c, n) for c, n in zip(codes, notes))


def _edge_areas_mm2(volume: Volume, lung: LungMasks) -> tuple[float, float]:
    """Lung area (mm²) on the most superior and on the most inferior slice."""
    labels = lung.labels
    pixel = volume.spacing[1] * volume.spacing[2]
    first = float(np.count_nonzero(labels[0])) * pixel
    last = float(np.count_nonzero(labels[-1])) * pixel
    superior_last = bool(volume.direction[2, 2] >= 0)
    return (last, first) if superior_last else (first, last)


def _side_edge_area_mm2(volume: Volume, lung: LungMasks) -> float:
    """Lung area (mm²) on the in-plane edges of the image (all slices): lung the field of view cuts.
    Each edge voxel counts with the face it shows: slice spacing × pixel size along the edge."""
    labels = lung.labels
    dz, dy, dx = volume.spacing
    rows = np.count_nonzero(labels[:, 0, :]) + np.count_nonzero(labels[:, -1, :])
    columns = np.count_nonzero(labels[:, :, 0]) + np.count_nonzero(labels[:, :, -1])
    return float(rows * dz * dx + columns * dz * dy)


def assess(
    volume: Volume, lungs: LungMasks, lesions: LesionMasks, metrics: Metrics, protocol: Protocol
) -> tuple[QCFlag, ...]:
    """The QC flags of a segmentation (see the module docstring), in :data:`QC_CODES` order."""
    q = protocol.qc
    flags: list[QCFlag] = []
    top, bottom = _edge_areas_mm2(volume, lungs)
    cut = []
    if top >= q.edge_lung_mm2:
        cut.append(f"the top slice holds {top / 100.0:.0f} cm² of lung (the upper lungs are cut off)")
    if bottom >= q.edge_lung_mm2:
        cut.append(f"the bottom slice holds {bottom / 100.0:.0f} cm² of lung (the lung bases are cut off)")
    side = _side_edge_area_mm2(volume, lungs)
    if side >= q.edge_lung_mm2:
        cut.append(f"the field of view cuts the lungs: {side / 100.0:.0f} cm² of lung lies on the image's side edges")
    if cut:
        message = "lungs not fully covered: " + "; ".join(cut)
        if metrics.lung_ml < q.min_lung_ml:
            message += f"; only {metrics.lung_ml:.0f} mL of lung is in the scan"
        flags.append(QCFlag("incomplete_coverage", message))
    if not q.min_lung_ml <= metrics.lung_ml <= q.max_lung_ml:
        flags.append(QCFlag(
            "implausible_lung_volume",
            f"lung volume {metrics.lung_ml:.0f} mL is outside the adult range "
            f"{q.min_lung_ml:.0f}-{q.max_lung_ml:.0f} mL",
        ))
    if volume.spacing[0] > q.max_slice_mm:
        flags.append(QCFlag(
            "thick_slices",
            f"slices {volume.spacing[0]:.2g} mm apart, thicker than the {q.max_slice_mm:.2g} mm the "
            "protocol allows for lesion quantification (partial volume blurs lesion edges)",
        ))
    if metrics.lung_ml > 0 and 100.0 * metrics.solid_ml / metrics.lung_ml >= q.min_solid_pct:
        solid = (lesions.labels == SOLID) & (lungs.labels > 0)
        median = float(np.median(volume.hu[solid])) if solid.any() else float("nan")
        if median < q.fat_like_solid_hu:
            flags.append(QCFlag(
                "fat_like_solid",
                f"the solid component ({metrics.solid_ml:.0f} mL) has a median of {median:.0f} HU, "
                f"fat rather than airless lung (below {q.fat_like_solid_hu:.0f} HU): check the lung mask",
            ))
    noise = lung_noise_hu(volume.hu, lungs.labels > 0)
    if noise > q.max_noise_hu:
        flags.append(QCFlag(
            "noisy_image",
            f"image noise {noise:.0f} HU in the aerated lung, above the {q.max_noise_hu:.0f} HU the protocol "
            "allows (a low-dose or sharp-kernel scan): ground-glass extent is uncertain, check the lesion edges",
        ))
    return tuple(flags)
