"""Quality-control flags of an automatic segmentation: when its numbers cannot be trusted.

Each flag has a stable ``code`` (stored with reads and exported) and a ``message`` for the reader
that gives the measured figure. Thresholds live in the protocol's ``[qc]`` section. A scan with no
plausible lungs is not flagged but refused (:class:`quant.segmentation_errors.SegmentationError`).

==========================  ======================================================================
code                        raised when
==========================  ======================================================================
``incomplete_coverage``     lung reaches the top or bottom slice of the scan (apex or base cut; an
                            abdominal CT that catches the lung bases)
``implausible_lung_volume`` total lung volume outside the adult range of the protocol
``thick_slices``            slice spacing above the protocol's limit for lesion quantification
``fat_like_solid``          the solid component is large enough to matter and its median HU is
                            that of fat, not of airless lung
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
from quant.volume import Volume

__all__ = ["QCFlag", "QC_CODES", "assess", "codes_text"]

QC_CODES = ("incomplete_coverage", "implausible_lung_volume", "thick_slices", "fat_like_solid")


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


def _edge_areas_mm2(volume: Volume, lung: LungMasks) -> tuple[float, float]:
    """Lung area (mm²) on the most superior and on the most inferior slice."""
    labels = lung.labels
    pixel = volume.spacing[1] * volume.spacing[2]
    first = float(np.count_nonzero(labels[0])) * pixel
    last = float(np.count_nonzero(labels[-1])) * pixel
    superior_last = bool(volume.direction[2, 2] >= 0)
    return (last, first) if superior_last else (first, last)


def assess(volume: Volume, lungs: LungMasks, lesions: LesionMasks, metrics: Metrics, protocol: Protocol) -> tuple[QCFlag, ...]:
    """The QC flags of a segmentation (see the module docstring), in :data:`QC_CODES` order."""
    q = protocol.qc
    flags: list[QCFlag] = []
    top, bottom = _edge_areas_mm2(volume, lungs)
    cut = [name for name, area in (("apex", top), ("base", bottom)) if area >= q.edge_lung_mm2]
    if cut:
        where = " and ".join(f"{name} ({area / 100.0:.0f} cm² of lung on the {edge} slice)"
                             for name, area, edge in (("apex", top, "top"), ("base", bottom, "bottom"))
                             if name in cut)
        small = metrics.lung_ml < q.min_lung_ml
        message = f"lungs not fully covered: {where}"
        if small:
            message += f"; only {metrics.lung_ml:.0f} mL of lung is in the scan (only part of the lungs)"
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
    return tuple(flags)
