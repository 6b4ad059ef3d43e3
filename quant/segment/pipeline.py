"""The automatic segmentation pipeline: lungs, then lesions, then metrics, with provenance.

:func:`segment` is what the desktop runs when a case opens (in a worker thread: it reports
``progress(fraction, text)`` and polls ``cancel()`` between stages) and what ``lungread segment``
prints. Every result carries :data:`ALGORITHM_VERSION` and the protocol hash, so a stored number
can be traced to the code and parameters that produced it, and its quality-control flags
(:mod:`quant.segment.qc`) say when its numbers cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quant.labels import LesionMasks, LungMasks
from quant.metrics import Metrics, MetricsTracker, measure
from quant.protocol import Protocol, default_protocol
from quant.segment.errors import SegmentationCancelled, SegmentationError
from quant.segment.lesions import segment_lesions
from quant.segment.lungs import segment_lungs
from quant.segment.qc import QCFlag, assess
from quant.volume import Volume

__all__ = [
    "ALGORITHM_VERSION",
    "SegmentationResult",
    "SegmentationError",
    "SegmentationCancelled",
    "QCFlag",
    "segment",
    "segment_lungs",
    "segment_lesions",
    "measure",
    "Metrics",
    "MetricsTracker",
]

#: Bump whenever a change can alter any automatic mask.
ALGORITHM_VERSION = "lungread-seg-2.2"

ProgressCallback = Callable[[float, str], None]
CancelCallback = Callable[[], bool]

# Share of the total run time of each stage (for the progress fraction).
_LUNG_SHARE = 0.65
_LESION_SHARE = 0.3


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """Automatic masks and their metrics, with the algorithm version and protocol hash."""

    lungs: LungMasks
    lesions: LesionMasks
    metrics: Metrics
    algorithm_version: str
    protocol_hash: str
    qc: tuple[QCFlag, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Metric keys plus ``algorithm_version``, ``protocol_hash`` and ``qc_flags`` (a list of
        ``{"code", "message"}``; JSON-ready)."""
        data: dict[str, object] = dict(self.metrics.as_dict())
        data["algorithm_version"] = self.algorithm_version
        data["protocol_hash"] = self.protocol_hash
        data["qc_flags"] = [f.as_dict() for f in self.qc]
        return data


def segment(
    volume: Volume,
    protocol: Protocol | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCallback | None = None,
) -> SegmentationResult:
    """Segment lungs and lesions of ``volume`` and measure them.

    Args:
        volume: CT in HU, axis order (z, y, x).
        protocol: thresholds and sizes; default: the bundled protocol.
        progress: called with (fraction 0..1, text) as stages advance.
        cancel: polled between stages; returning True stops the run.

    Raises:
        SegmentationError: "no plausible lungs ..." for a volume without lungs (or only bowel gas).
        SegmentationCancelled: ``cancel()`` returned True.
    """
    protocol = protocol or default_protocol()

    def stage(offset: float, share: float) -> ProgressCallback:
        def step(fraction: float, text: str) -> None:
            if cancel is not None and cancel():
                raise SegmentationCancelled("segmentation cancelled")
            if progress is not None:
                progress(min(1.0, offset + share * fraction), text)

        return step

    stage(0.0, 0.0)(0.0, "starting")
    lungs = segment_lungs(volume, protocol, step=stage(0.0, _LUNG_SHARE))
    lesions = segment_lesions(volume, lungs, protocol, step=stage(_LUNG_SHARE, _LESION_SHARE))
    stage(_LUNG_SHARE + _LESION_SHARE, 0.0)(0.0, "measuring")
    metrics = measure(volume, lungs, lesions, protocol)
    qc = assess(volume, lungs, lesions, metrics, protocol)
    if progress is not None:
        progress(1.0, "done")
    return SegmentationResult(lungs, lesions, metrics, ALGORITHM_VERSION, protocol.hash, qc)
